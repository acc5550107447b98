// Checks for states that hold other content under one dot (forged, or from a replica that reused
// its dots): merge of any of them, in any order and grouping, gives one state validate accepts.
import assert from 'node:assert/strict'
import { decode, encode } from '../../core/codec.ts'
import type { Contract } from '../../core/contract.ts'
import type { Plain } from '../../core/codec.ts'

const hex = (x: unknown): string => Buffer.from(encode(x)).toString('hex')
const show = (x: unknown): string => JSON.stringify(x)

/**
 * Validates each input (each must be valid alone); asserts that merge commutes and associates on
 * them and that every pairwise merge passes validate unchanged. Returns merge(first, second).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function assertForgedJoin<S extends Plain> (c: Contract<S, any>, inputs: readonly unknown[]): S {
  const states = inputs.map(x => c.validate(x))
  for (const a of states) {
    for (const b of states) {
      const ab = c.merge(a, b)
      assert.equal(hex(ab), hex(c.merge(b, a)), `merge(a, b) = ${show(ab)} ≠ merge(b, a) = ${show(c.merge(b, a))}`)
      let again: unknown
      assert.doesNotThrow(() => { again = c.validate(decode(encode(ab))) }, `validate refuses merge(a, b) = ${show(ab)}`)
      assert.equal(hex(again), hex(ab), `validate changes merge(a, b) = ${show(ab)}`)
      for (const d of states) {
        const left = c.merge(ab, d)
        const right = c.merge(a, c.merge(b, d))
        assert.equal(hex(left), hex(right), `merge(merge(a, b), c) ≠ merge(a, merge(b, c)) for a=${show(a)} b=${show(b)} c=${show(d)}`)
      }
    }
  }
  return c.merge(states[0], states[1])
}

/** The issue's pair: `{e: [[v, ["carol", 1]]], c: [["carol", [1, 1]]]}` with v "evil" and "honest". */
export const ISSUE_PAIR: readonly unknown[] = ['evil', 'honest'].map(v => ({ e: [[v, ['carol', 1]]], c: [['carol', [1, 1]]] }))
