import { test } from 'node:test'
import assert from 'node:assert/strict'
import { type ValueEntry, type ValueSet, gSet, valueEntryKind } from '../../contracts/g-set.ts'
import { encode } from '../../core/codec.ts'
import type { OpContext } from '../../core/contract.ts'
import { dotSetOf } from '../../core/dots.ts'
import { ContractError } from '../../core/errors.ts'
import type { JsonValue } from '../../core/json.ts'
import { checkLaws } from '../../core/laws.ts'
import { builtinLawInputs } from '../../contracts/law-inputs.ts'
import { ISSUE_PAIR, assertForgedJoin } from '../helpers/forged-dots.ts'

const ctx = (replica: string): OpContext => ({ replica, now: 1_700_000_000_000 })

function add (s: ValueSet, replica: string, value: JsonValue): ValueSet {
  const d = gSet.ops.add(s, [value], ctx(replica))
  return d === undefined ? s : gSet.merge(s, d)
}

function throwsCode (fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof ContractError && err.code === code)
}

test('g-set obeys every law (1000 runs each)', () => {
  const report = checkLaws(gSet, builtinLawInputs['g-set'], { numRuns: 1000 })
  assert.deepEqual(report.failures.map(f => `${f.law}: ${f.message}\n  history: ${f.counterexample}\n  seed: ${f.seed}`), [])
})

test('adding a present value changes nothing; the view lists each value once, in canonical order', () => {
  let a = add(gSet.empty(), 'alice', 'b')
  a = add(a, 'alice', 1)
  assert.equal(gSet.ops.add(a, ['b'], ctx('alice')), undefined)
  const b = add(gSet.empty(), 'bob', 'b') // concurrent add of the same value
  const ab = gSet.merge(a, b)
  assert.equal(ab.e.length, 3)
  assert.deepEqual(gSet.view(ab), [1, 'b'])
  assert.deepEqual(gSet.view(gSet.merge(b, a)), [1, 'b'])
})

test('delta sends only what the other side lacks', () => {
  const a = add(add(gSet.empty(), 'alice', 'x'), 'alice', 'y')
  const b = add(gSet.empty(), 'alice', 'x')
  const d = gSet.delta(a, gSet.summarize(b))
  assert.deepEqual(d?.e.map(e => e[0]), ['y'])
  assert.deepEqual(gSet.view(gSet.merge(b, d!)), ['x', 'y'])
  assert.equal(gSet.delta(b, gSet.summarize(a)), undefined)
})

test('validate rejects garbage with invalid_state', () => {
  const good = add(add(gSet.empty(), 'alice', 'a'), 'alice', 'b')
  assert.deepEqual(gSet.validate(good), good)
  const garbage: unknown[] = [
    null, 7, [], 'x', { e: [] }, { ...good, x: 1 }, { e: {}, c: [] }, { e: [], c: {} },
    { e: [['a']], c: good.c }, // entry without dot
    { e: [['a', ['alice', 0]]], c: good.c }, // bad dot
    { e: [...good.e].reverse(), c: good.c }, // unsorted
    { e: [good.e[0]], c: dotSetOf([['bob', 1]]) }, // dot not in context
    { e: [good.e[0], ['b', good.e[0][1]]], c: good.c }, // one dot, two entries
    { e: [good.e[0]], c: good.c }, // context names a dot with no entry: a g-set never removes
    { e: [[new Uint8Array(1), ['alice', 1]]], c: dotSetOf([['alice', 1]]) } // not JSON
  ]
  for (const x of garbage) throwsCode(() => gSet.validate(x), 'invalid_state')
  throwsCode(() => gSet.validateSummary({ c: [] }), 'invalid_summary')
})

test('add refuses bad args with bad_args', () => {
  const s = gSet.empty()
  for (const args of [[], [1, 2], [Number.NaN], [undefined], [{ __proto__: null, f () {} }]]) {
    throwsCode(() => gSet.ops.add(s, args as JsonValue[], ctx('alice')), 'bad_args')
  }
  let deep: JsonValue = 1
  for (let i = 0; i < 70; i++) deep = [deep]
  throwsCode(() => gSet.ops.add(s, [deep], ctx('alice')), 'bad_args')
})

test('a 10,000-element g-set has a summary under 5% of its state', () => {
  const entries: ValueEntry[] = []
  for (let i = 0; i < 10_000; i++) entries.push([`item-${i}`, [['alice', 'bob', 'carol'][i % 3], Math.floor(i / 3) + 1]])
  entries.sort(valueEntryKind.compare)
  const s = gSet.validate({ e: entries, c: dotSetOf(entries.map(e => e[1])) })
  const stateBytes = encode(s).length
  const summaryBytes = encode(gSet.summarize(s)).length
  assert.ok(summaryBytes <= 0.05 * stateBytes, `summary ${summaryBytes} B vs state ${stateBytes} B`)
  assert.equal((gSet.view(add(s, 'alice', 'one more')) as JsonValue[]).length, 10_001)
})

test('forged states with other content under one dot (the issue\'s evil/honest pair) merge to one valid state, in any order', () => {
  const [evil, honest] = ISSUE_PAIR.map(x => gSet.validate(x))
  // With more on each side: carol:2 added on top of "honest", bob's add on top of "evil".
  const merged = assertForgedJoin(gSet, [evil, honest, add(honest, 'carol', 'more'), add(evil, 'bob', 'x')])
  // One dot, one entry: the greater in canonical order ("honest", longer), whichever side it came from.
  assert.deepEqual(gSet.view(merged), ['honest'])
  assert.deepEqual(gSet.view(gSet.merge(add(evil, 'bob', 'x'), add(honest, 'carol', 'more'))), ['x', 'more', 'honest'])
  // Summaries are dot sets: the two peers look in sync and sync never repairs it (signed writes will).
  assert.deepEqual(gSet.summarize(evil), gSet.summarize(honest))
  assert.equal(gSet.delta(evil, gSet.summarize(honest)), undefined)
})
