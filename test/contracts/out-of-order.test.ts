// Op deltas merged out of causal order (a replica that missed one) must never leave two replicas with
// equal summaries over different states: summary-driven sync could then never repair them. Found by the
// simulator; the scenarios are its shrunk counterexamples.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mvRegister } from '../../contracts/mv-register.ts'
import { orSet } from '../../contracts/or-set.ts'
import type { AnyContract } from '../../core/contract.ts'
import { encode } from '../../core/codec.ts'
import type { JsonValue } from '../../core/json.ts'

type S = any // eslint-disable-line @typescript-eslint/no-explicit-any
function apply (c: AnyContract, s: S, op: string, args: JsonValue[], replica: string): [S, S] {
  const d = c.ops[op](s, args, { replica, now: 0 })
  return [c.merge(s, d), d]
}
const same = (a: unknown, b: unknown): boolean => Buffer.compare(encode(a), encode(b)) === 0

function assertRepairable (c: AnyContract, p0: S, p4: S): void {
  assert.ok(!same(p0, p4), 'the scenario leaves different states')
  assert.ok(!same(c.summarize(p0), c.summarize(p4)), 'so their summaries must differ')
  // And each side's delta for the other repairs it exactly.
  const to4 = c.delta(p0, c.summarize(p4))
  const to0 = c.delta(p4, c.summarize(p0))
  const fixed4 = to4 === undefined ? p4 : c.merge(p4, to4)
  const fixed0 = to0 === undefined ? p0 : c.merge(p0, to0)
  assert.ok(same(fixed4, c.merge(p0, p4)) && same(fixed0, c.merge(p0, p4)))
}

test('mv-register: a replica that missed an overwrite but got a later one is told apart and repaired', () => {
  const c: AnyContract = mvRegister
  let [p1, d1] = apply(c, c.empty(), 'set', ['old'], 'p1')
  let p0 = c.merge(c.empty(), d1); let p4 = c.merge(c.empty(), d1)
  let d2; [p1, d2] = apply(c, p1, 'set', ['new'], 'p1')
  p0 = c.merge(p0, d2) // p4 misses d2
  let d3; [p0, d3] = apply(c, p0, 'set', ['x'], 'p0')
  p4 = c.merge(p4, d3)
  assertRepairable(c, p0, p4)
  assert.deepEqual(c.view(c.merge(p4, c.delta(p0, c.summarize(p4)))), ['x'])
})

test('or-set: an acknowledged remove is never lost to out-of-order delivery', () => {
  const c: AnyContract = orSet
  let [p1, d1] = apply(c, c.empty(), 'add', ['v'], 'p1')
  let p0 = c.merge(c.empty(), d1); let p4 = c.merge(c.empty(), d1)
  let d2; [p1, d2] = apply(c, p1, 'add', ['v'], 'p1')
  p0 = c.merge(p0, d2) // p4 misses d2
  let d3; [p0, d3] = apply(c, p0, 'add', ['v'], 'p0'); p4 = c.merge(p4, d3)
  let d4; [p0, d4] = apply(c, p0, 'remove', ['v'], 'p0'); p4 = c.merge(p4, d4)
  assertRepairable(c, p0, p4)
  assert.deepEqual(c.view(c.merge(p4, c.delta(p0, c.summarize(p4)))), [])
})
