import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { AnyContract } from '../../core/contract.ts'
import { DEFAULT_LAW_SEED, checkLaws, assertLaws, inexactNumber } from '../../core/laws.ts'
import { ContractError } from '../../core/errors.ts'
import { lawInputs as maxLawInputs, maxRegister } from '../fixtures/max-register.ts'
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

test('the worked max-register passes every law, with a value arbitrary and with its law inputs and model', () => {
  assert.deepEqual(checkLaws(maxRegister, { value }, { numRuns: 1000 }).failures, [])
  assert.deepEqual(checkLaws(maxRegister, maxLawInputs['max-register'], { numRuns: 1000 }).failures, [])
  // The model is checked: one that keeps the first value set is caught.
  const wrong = { ...maxLawInputs['max-register'].model!, apply: (m: unknown, _op: string, [n]: readonly unknown[]) => m ?? n }
  assert.equal(checkLaws(maxRegister, { ...maxLawInputs['max-register'], model: wrong }).failures[0]?.law, 'op-model')
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
    assert.match(err.message, /replay: --law-seed -?\d+ --law-path merge-\S+ \(checkLaws options: \{ seed: -?\d+, path: "merge-[^"]+" \}\)/)
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

// A plain-sum register: breaks idempotence on any state past empty, and nothing else, so its replay is easy to follow.
const sumRegister = { ...maxRegister, id: 'sum', merge: (a: number | null, b: number | null) => (a ?? 0) + (b ?? 0) } as AnyContract

test('without a seed, the check is the same every time: the same failures, counterexamples and paths', () => {
  const first = checkLaws(sumRegister, { value })
  const again = checkLaws(sumRegister, { value })
  assert.equal(first.ok, false)
  assert.deepEqual(again, first)
  assert.ok(first.failures.every(f => f.seed === DEFAULT_LAW_SEED))
  // Another seed is another search, reported as such.
  assert.ok(checkLaws(sumRegister, { value }, { seed: 7 }).failures.every(f => f.seed === 7))
})

test('a failure\'s replay (seed and path as options) reproduces it alone, with the same counterexample', () => {
  for (const seed of [DEFAULT_LAW_SEED, 12345]) {
    const report = checkLaws(sumRegister, { value }, { seed })
    assert.ok(report.failures.length > 0)
    for (const f of report.failures) {
      assert.match(f.path, /^[a-z-]+(:\d+)*$/)
      const again = checkLaws(sumRegister, { value }, { seed: f.seed, path: f.path })
      assert.deepEqual(again.failures, [f], `replaying ${f.path}`)
    }
  }
  assert.throws(() => checkLaws(sumRegister, { value }, { path: 'no-such-law:1' }), /must start with a law name/)
})

test('op-inputs: an op that refuses the generated calls is refused, naming the op and lawInputs, not passed', () => {
  const twoArgs = {
    ...sumRegister,
    id: 'two-args',
    ops: {
      add (_s: number | null, args: readonly unknown[]) {
        if (args.length !== 2 || typeof args[0] !== 'number' || typeof args[1] !== 'string') throw new ContractError('bad_args', 'add(n, why)')
        return args[0]
      }
    }
  } as AnyContract
  const report = checkLaws(twoArgs)
  assert.equal(report.failures[0]?.law, 'op-inputs', JSON.stringify(report.failures))
  assert.match(report.failures[0].message, /op "add" accepted 0 of \d+ generated calls \(0%, under 20%\).*lawInputs.*"two-args".*"add"/)
  assert.match(report.failures[0].counterexample, /"add":\{"made":\d+,"refused":\d+\}/)
  // Given argument lists it accepts, the check gets past the op and finds the sum.
  const withInputs = checkLaws(twoArgs, { ops: { add: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.constant('why')) } })
  assert.deepEqual(withInputs.failures.map(f => f.law).slice(0, 1), ['merge-idempotent'])
  assert.ok(!withInputs.failures.some(f => f.law === 'op-inputs'))
  // Arguments for an op the contract lacks are refused by name.
  const typo = checkLaws(twoArgs, { ops: { ad: fc.constant([1, 'x']) } }, { laws: ['op-inputs'] })
  assert.match(typo.failures[0]?.message ?? '', /op "ad", which contract "two-args" does not have/)
})

test('op-inputs counts refusals on reachable states: an op accepting a fifth of its calls or more passes', () => {
  // set(n) accepts numbers only; the default value is a small natural about 40% of the time.
  assert.deepEqual(checkLaws(maxRegister, {}, { laws: ['op-inputs'] }).failures, [])
  const picky = { ...maxRegister, id: 'picky', ops: { set: (s: number | null, [n]: readonly unknown[]) => { if (n !== 5) throw new ContractError('bad_args', 'only 5'); return maxRegister.ops.set(s, [n as number], { replica: 'a', now: 0 }) } } } as AnyContract
  assert.equal(checkLaws(picky, {}, { laws: ['op-inputs'] }).failures[0]?.law, 'op-inputs')
})

test('inexactNumber: integers past 2^53 − 1 that the state does not hold, and non-finite numbers', () => {
  const MAX = Number.MAX_SAFE_INTEGER
  assert.equal(inexactNumber(MAX, [MAX]), undefined)
  assert.equal(inexactNumber({ total: MAX + 1 }, [MAX, 2]), MAX + 1)
  assert.equal(inexactNumber([1.5, -MAX], []), undefined)
  assert.equal(inexactNumber(-(2 ** 60), []), -(2 ** 60))
  assert.equal(inexactNumber(1e300, { v: 1e300 }), undefined, 'a value stored as given is shown as given')
  assert.equal(inexactNumber({ x: [Infinity] }, { x: [Infinity] }), Infinity)
  assert.equal(inexactNumber('18014398509481988', []), undefined, 'a decimal string is exact')
})
