import { test } from 'node:test'
import assert from 'node:assert/strict'
import { type LogEntry, type LogState, log } from '../../contracts/log.ts'
import { decode, encode } from '../../core/codec.ts'
import type { Contract } from '../../core/contract.ts'
import { dotSetOf } from '../../core/dots.ts'
import { ContractError } from '../../core/errors.ts'
import type { JsonObject, JsonValue } from '../../core/json.ts'
import { checkLaws } from '../../core/laws.ts'
import { builtinLawInputs, logModel } from '../../contracts/law-inputs.ts'
import { assertForgedJoin } from '../helpers/forged-dots.ts'

type Log = Contract<LogState, { c: LogState['c'], f: LogState['f'] }>
const T = 1_700_000_000_000

function append (c: Log, s: LogState, replica: string, value: JsonValue, now = T): LogState {
  return c.merge(s, c.ops.append(s, [value], { replica, now })!)
}

function sync (c: Log, from: LogState, to: LogState): LogState {
  const d = c.delta(from, c.summarize(to))
  return d === undefined ? to : c.merge(to, c.validate(d))
}

const values = (c: Log, s: LogState): JsonValue[] => (c.view(s) as Array<{ value: JsonValue }>).map(x => x.value)

function throwsCode (fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof ContractError && err.code === code)
}

function assertLaws (c: Log, keepLast?: number): void {
  const report = checkLaws(c, { ...builtinLawInputs.log, model: logModel(keepLast) }, { numRuns: 1000 })
  assert.deepEqual(report.failures.map(f => `${f.law}: ${f.message}\n  history: ${f.counterexample}\n  seed: ${f.seed}`), [])
}

test('the unbounded log obeys every law (1000 runs each)', () => assertLaws(log))
for (const keepLast of [1, 2, 3]) {
  test(`log with keepLast ${keepLast} obeys every law (1000 runs each)`, () => assertLaws(log.withParams!({ keepLast }), keepLast))
}

test('entries are ordered by hybrid logical clock, so a slow clock still appends after what it has seen', () => {
  let a = append(log, log.empty(), 'alice', 'hi', T + 5000)
  a = append(log, a, 'bob', 'hello', T) // bob's clock is 5 s behind
  assert.deepEqual(a.e.map(e => e[0]), [[T + 5000, 0], [T + 5000, 1]])
  assert.deepEqual(log.view(a), [{ at: T + 5000, replica: 'alice', value: 'hi' }, { at: T + 5000, replica: 'bob', value: 'hello' }])
  const b = append(log, a, 'carol', 'later', T + 9000)
  assert.deepEqual(b.e[2][0], [T + 9000, 0])
})

test('concurrent appends interleave by clock wherever they merge', () => {
  const a = append(log, append(log, log.empty(), 'alice', 'a1', T), 'alice', 'a2', T + 2000)
  const b = append(log, log.empty(), 'bob', 'b1', T + 1000)
  assert.deepEqual(values(log, log.merge(a, b)), ['a1', 'b1', 'a2'])
  assert.deepEqual(values(log, sync(log, b, a)), ['a1', 'b1', 'a2'])
  assert.deepEqual(values(log, sync(log, a, b)), ['a1', 'b1', 'a2'])
})

test('keepLast keeps the newest entries, records a floor, and dropped entries never come back', () => {
  const two = log.withParams!({ keepLast: 2 }) as Log
  assert.deepEqual(two.params, { keepLast: 2 })
  assert.equal(log.params, undefined)
  const old = append(two, two.empty(), 'alice', 'm1', T)
  let s = old
  for (let i = 2; i <= 4; i++) s = append(two, s, 'alice', `m${i}`, T + i)
  assert.deepEqual(values(two, s), ['m3', 'm4'])
  assert.deepEqual(s.f, [[T + 2, 0], 'alice', 2])
  assert.deepEqual(values(two, two.merge(s, old)), ['m3', 'm4'])
  assert.deepEqual(values(two, two.merge(old, s)), ['m3', 'm4'])
  // An entry older than the receiver's floor is not sent at all, only its dot.
  const late = append(two, two.empty(), 'bob', 'late', T + 1)
  const d = two.delta(late, two.summarize(s))!
  assert.deepEqual(d.e, [])
  assert.deepEqual(values(two, two.merge(s, d)), ['m3', 'm4'])
  assert.equal(two.delta(late, two.summarize(two.merge(s, d))), undefined)
})

test('withParams refuses anything but a safe integer keepLast ≥ 1', () => {
  for (const p of [{}, { keepLast: 0 }, { keepLast: -1 }, { keepLast: 1.5 }, { keepLast: '3' }, { keepLast: 2 ** 53 }, { keepLast: 2, extra: 1 }, { keep: 2 }]) {
    throwsCode(() => log.withParams!(p as JsonObject), 'bad_args')
  }
})

test('validate rejects garbage with invalid_state', () => {
  const three = log.withParams!({ keepLast: 3 }) as Log
  let good = three.empty()
  for (let i = 0; i < 5; i++) good = append(three, good, 'alice', i, T + i)
  assert.deepEqual(three.validate(good), good)
  const entry = (wall: number, seq: number): LogEntry => [[wall, 0], 'alice', seq, 'v']
  const ctx = dotSetOf([['alice', 1], ['alice', 2]])
  const garbage: unknown[] = [
    null, [], { e: [], c: [] }, { e: [], c: [], f: null, x: 1 }, { e: 'x', c: [], f: null },
    { e: [[[T, 0], 'alice', 1]], c: ctx, f: null }, // no value
    { e: [[[T, -1], 'alice', 1, 'v']], c: ctx, f: null }, // negative counter
    { e: [[[T, 0], '', 1, 'v']], c: ctx, f: null }, // bad replica
    { e: [entry(T + 1, 1), entry(T, 2)], c: ctx, f: null }, // unsorted
    { e: [entry(T, 1), entry(T + 1, 3)], c: ctx, f: null }, // dot not in context
    { ...good, e: [entry(T - 5, 1), ...good.e] }, // more than keepLast entries
    { e: [entry(T, 1)], c: ctx, f: [[T, 0], 'alice', 2] }, // entry below the floor
    { e: [], c: ctx, f: [[T, 0], 'alice'] } // malformed floor
  ]
  for (const x of garbage) throwsCode(() => three.validate(x), 'invalid_state')
  throwsCode(() => log.validate({ e: [], c: ctx, f: [[T, 0], 'alice', 1] }), 'invalid_state') // the unbounded log has no floor
  throwsCode(() => three.validateSummary({ c: [] }), 'invalid_summary')
})

test('append refuses bad args and a clock that is not a time with bad_args', () => {
  for (const args of [[], ['a', 'b'], [Number.NaN]]) throwsCode(() => log.ops.append(log.empty(), args as JsonValue[], { replica: 'alice', now: T }), 'bad_args')
  for (const now of [Number.NaN, -1, Infinity]) throwsCode(() => log.ops.append(log.empty(), ['x'], { replica: 'alice', now }), 'bad_args')
})

test('validity depends on the bytes alone: an append from a clock an hour fast is accepted locally and valid everywhere', () => {
  const fast = Date.now() + 3_600_000
  const d = log.ops.append(log.empty(), ['x'], { replica: 'fast', now: fast })!
  assert.deepEqual(log.validate(decode(encode(d))), d)
  assert.equal(log.stampOf!(d), fast)
  assert.equal(log.stampOf!(log.empty()), undefined)
})

test('an append after holding a far-future entry stamps at most now + 60 s and sorts before it', () => {
  const future = log.ops.append(log.empty(), ['ahead'], { replica: 'fast', now: T + 120_000 })!
  const d = log.ops.append(future, ['mine'], { replica: 'alice', now: T })!
  assert.deepEqual(d.e[0][0], [T + 60_000, 0])
  assert.deepEqual((log.view(log.merge(future, d)) as Array<{ value: JsonValue }>).map(x => x.value), ['mine', 'ahead'])
  // A second capped append in the same ms gets the same stamp but its own dot, so it still sorts after the first.
  const again = log.ops.append(log.merge(future, d), ['zzz mine again'], { replica: 'alice', now: T })!
  assert.deepEqual(again.e[0].slice(0, 3), [[T + 60_000, 0], 'alice', 2])
  assert.deepEqual(values(log, log.merge(again, log.merge(future, d))), ['mine', 'zzz mine again', 'ahead'])
  // Within 60 s, the usual HLC: after what it holds.
  const near = log.ops.append(log.empty(), ['near'], { replica: 'fast', now: T + 30_000 })!
  assert.deepEqual(log.ops.append(near, ['mine'], { replica: 'alice', now: T })!.e[0][0], [T + 30_000, 1])
  // The floor counts as held when every entry was dropped.
  const one = log.withParams!({ keepLast: 1 }) as Log
  const floored = one.merge(one.merge(future, log.ops.append(future, ['later'], { replica: 'fast', now: T + 120_001 })!), one.empty())
  assert.equal(one.stampOf!({ e: [], c: floored.c, f: floored.f }), T + 120_000)
})

test('a 10,000-entry log has a summary under 5% of its state, bounded or not', () => {
  const entries: LogEntry[] = []
  for (let i = 0; i < 10_000; i++) entries.push([[T + i * 10, 0], ['alice', 'bob'][i % 2], Math.floor(i / 2) + 1, `message number ${i}`])
  const c = dotSetOf(entries.map(e => [e[1], e[2]]))
  const kept = log.withParams!({ keepLast: 10_000 }) as Log
  for (const [contract, s] of [[log, { e: entries, c, f: null }], [kept, { e: entries.slice(1), c, f: entries[0].slice(0, 3) }]] as const) {
    const state = contract.validate(s)
    const stateBytes = encode(state).length
    const summaryBytes = encode(contract.summarize(state)).length
    assert.ok(summaryBytes <= 0.05 * stateBytes, `summary ${summaryBytes} B vs state ${stateBytes} B`)
  }
})

test('forged states with other content under one dot merge to one state validate accepts, in any order and grouping', () => {
  const at = (wall: number, replica: string, seq: number, value: JsonValue): LogState => ({ e: [[[wall, 0], replica, seq, value]], c: dotSetOf([[replica, seq]]), f: null })
  // The review's example: alice:1 with two values; merged, the old merge kept both ("dot alice:1 is used by two entries").
  const evil = at(T, 'alice', 1, 'evil')
  const honest = at(T, 'alice', 1, 'honest')
  const merged = assertForgedJoin(log as Log, [evil, honest])
  assert.deepEqual(values(log, merged), ['honest'])
  // Other stamps under one dot, and another writer between them: with keepLast the entry kept at
  // alice:1 decides what is dropped, so it must be the same in every grouping (the greater stamp).
  const later = at(T + 5, 'alice', 1, 'evil')
  const between = at(T + 2, 'bob', 1, 'b')
  for (const c of [log, log.withParams!({ keepLast: 1 }), log.withParams!({ keepLast: 2 })] as Log[]) {
    const all = assertForgedJoin(c, [evil, honest, later, between, append(c, honest, 'carol', 'c', T + 3)])
    assert.equal(all.e.filter(x => x[1] === 'alice').length, 1, 'one entry for alice:1')
    const three = c.merge(c.merge(evil, later), between)
    assert.deepEqual(values(c, three).at(-1), 'evil', 'the later stamp is kept under alice:1')
  }
})
