import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { AnyContract } from '../../core/contract.ts'
import { checkLaws, assertLaws } from '../../core/laws.ts'
import { ContractError } from '../../core/errors.ts'
import { maxRegister } from '../fixtures/max-register.ts'
import { mvRegister } from '../../contracts/mv-register.ts'
import { type DotSet, isSubset } from '../../core/dots.ts'

const value = fc.integer({ min: -5, max: 5 })
const broken = (law: string, c: AnyContract): void => {
  const report = checkLaws(c, { value }, { numRuns: 300 })
  assert.equal(report.ok, false, `${c.id} should break ${law}`)
  assert.ok(report.failures.some(f => f.law === law), `${c.id} should break ${law}; got ${report.failures.map(f => f.law).join(', ')}`)
  const f = report.failures.find(f => f.law === law)!
  assert.ok(f.counterexample.includes('"steps"'), 'the counterexample is the shrunk history')
}

test('the worked max-register passes every law', () => {
  const report = checkLaws(maxRegister, { value }, { numRuns: 1000 })
  assert.deepEqual(report.failures, [])
})

test('a plain-sum counter breaks idempotence', () => {
  broken('merge-idempotent', { ...maxRegister, id: 'sum', empty: () => 0, merge: (a: number, b: number) => (a ?? 0) + (b ?? 0), delta: (s: number) => (s === 0 ? undefined : s) } as AnyContract)
})

test('a first-wins merge breaks commutativity', () => {
  broken('merge-commutative', { ...maxRegister, id: 'first', merge: (a: number | null, b: number | null) => (a === null ? b : a) } as AnyContract)
})

test('a delta that sends nothing breaks completeness', () => {
  broken('delta-complete', { ...maxRegister, id: 'lazy', delta: () => undefined } as AnyContract)
})

test('a delta that always sends breaks minimality', () => {
  broken('delta-minimal', { ...maxRegister, id: 'chatty', delta: (s: number | null) => s ?? 0 } as AnyContract)
})

test('a constant summary breaks faithfulness', () => {
  broken('summary-faithful', { ...maxRegister, id: 'vague', summarize: () => null, delta: (s: number | null) => s ?? undefined } as AnyContract)
})

test('a validate that throws TypeError breaks validate-rejects', () => {
  broken('validate-rejects', { ...maxRegister, id: 'fragile', validate: (x: unknown) => { if ((x as { a: unknown }).a === undefined && typeof x !== 'number' && x !== null) throw new TypeError('boom'); return x } } as AnyContract)
})

test('an op that throws a plain Error breaks op-errors', () => {
  broken('op-errors', { ...maxRegister, id: 'throws', ops: { set: () => { throw new Error('oops') } } } as AnyContract)
})

test('assertLaws names the law and the counterexample', () => {
  const sum = { ...maxRegister, id: 'sum', merge: (a: number | null, b: number | null) => (a ?? 0) + (b ?? 0) } as AnyContract
  assert.throws(() => assertLaws(sum, { value }, { numRuns: 100 }), (err: unknown) => {
    assert.ok(err instanceof ContractError)
    assert.equal(err.code, 'law_broken')
    assert.match(err.message, /breaks law merge-/)
    assert.match(err.message, /counterexample history: \{"steps"/)
    assert.match(err.message, /replay: seed -?\d+/)
    return true
  })
})

test('laws hold on states that missed pushes: a context-only summary for an observed-remove contract is caught', () => {
  // Before their summaries carried live dots, or-set and mv-register summarized by context alone; a
  // replica that missed an overwrite could then hold a different state under an equal summary. The
  // mv-register case takes four steps and is found on every seed; or-set's takes a re-add and is rarer,
  // so test/contracts/out-of-order.test.ts pins it with its shrunk counterexample.
  for (const c of [mvRegister]) {
    const contextOnly = {
      ...c,
      id: `${c.id}-context-only`,
      summarize: (s: { c: DotSet }) => ({ c: s.c, a: s.c }),
      delta: (s: { c: DotSet }, theirs: { c: DotSet }) => (isSubset(s.c, theirs.c) ? undefined : c.delta(s as never, theirs as never))
    } as AnyContract
    const report = checkLaws(contextOnly, {}, { numRuns: 1000, laws: ['summary-faithful', 'delta-complete'] })
    assert.equal(report.ok, false, `${c.id}: a context-only summary must break a law`)
    // And the real contract, same laws, same runs: passes.
    assert.deepEqual(checkLaws(c, {}, { numRuns: 1000, laws: ['summary-faithful', 'delta-complete'] }).failures, [])
  }
})
