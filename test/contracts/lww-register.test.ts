import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decode, encode } from '../../core/codec.ts'
import { ContractError } from '../../core/errors.ts'
import { type JsonObject, type JsonValue, MAX_VALUE_DEPTH } from '../../core/json.ts'
import { checkLaws, defaultValue } from '../../core/laws.ts'
import { builtinLawInputs } from '../../contracts/law-inputs.ts'
import { type LwwRegisterState, createLwwRegister, lwwRegister } from '../../contracts/lww-register.ts'

const NOW = 1_700_000_000_000
const fixed = createLwwRegister()

function set (s: LwwRegisterState, value: JsonValue, replica: string, now: number): LwwRegisterState {
  const d = fixed.ops.set(s, [value], { replica, now })
  assert.ok(d !== undefined, 'set always writes')
  return fixed.merge(s, d)
}

function hasCode (code: string) {
  return (err: unknown) => err instanceof ContractError && err.code === code
}

test('lww-register obeys every law', () => {
  const report = checkLaws(lwwRegister, builtinLawInputs['lww-register'], { numRuns: 1000 })
  assert.ok(report.ok, JSON.stringify(report.failures, null, 2))
})

test('a later set wins, whichever order the states merge in', () => {
  const a = set(null, 'first', 'alice', NOW - 5000)
  const b = set(null, 'second', 'bob', NOW - 1000)
  assert.equal(fixed.view(fixed.merge(a, b)), 'second')
  assert.equal(fixed.view(fixed.merge(b, a)), 'second')
  assert.deepEqual(fixed.delta(b, fixed.summarize(a)), b)
  assert.equal(fixed.delta(a, fixed.summarize(b)), undefined)
})

test('a set at the same wall clock ticks the counter', () => {
  const s1 = set(null, 1, 'alice', NOW)
  const s2 = set(s1, 2, 'bob', NOW)
  assert.deepEqual(s2, { t: [NOW, 1], r: 'bob', v: 2 })
  assert.deepEqual(fixed.summarize(s2), [NOW, 1, 'bob'])
})

test('a clock that goes backwards still writes a newer timestamp', () => {
  const s1 = set(null, 'ahead', 'alice', NOW)
  const s2 = set(s1, 'behind', 'bob', NOW - 30_000)
  assert.deepEqual(s2?.t, [NOW, 1])
  assert.equal(fixed.view(fixed.merge(s1, s2)), 'behind')
  // and a later wall clock resets the counter
  assert.deepEqual(set(s2, 'later', 'alice', NOW + 1)?.t, [NOW + 1, 0])
})

test('concurrent writes with equal stamps are ordered by replica id', () => {
  const a = set(null, 'from alice', 'alice', NOW)
  const b = set(null, 'from bob', 'bob', NOW)
  assert.equal(fixed.view(fixed.merge(a, b)), 'from bob')
  assert.equal(fixed.view(fixed.merge(b, a)), 'from bob')
})

test('forged states with equal stamps and different values still merge as a lattice', () => {
  fc.assert(fc.property(fc.array(defaultValue, { minLength: 3, maxLength: 3 }), ([x, y, z]) => {
    const [a, b, c] = [x, y, z].map((v): LwwRegisterState => ({ t: [NOW, 0], r: 'alice', v }))
    const m = fixed.merge
    assert.deepEqual(encode(m(a, b)), encode(m(b, a)))
    assert.deepEqual(encode(m(m(a, b), c)), encode(m(a, m(b, c))))
  }))
})

test('validity depends on the bytes alone: a stamp far in the future is valid and wins until real time catches up', () => {
  const future = { t: [Date.now() + 3_600_000, 0] as [number, number], r: 'fast', v: 'from the future' }
  assert.deepEqual(fixed.validate(future), future)
  assert.deepEqual(fixed.validateSummary([future.t[0], 0, 'fast']), [future.t[0], 0, 'fast'])
  assert.deepEqual(fixed.validate({ t: [Number.MAX_SAFE_INTEGER, 0], r: 'x', v: 1 }), { t: [Number.MAX_SAFE_INTEGER, 0], r: 'x', v: 1 })
  assert.equal(fixed.view(fixed.merge(set(null, 'now', 'alice', NOW), future)), 'from the future')
  assert.equal(fixed.stampOf!(future), future.t[0])
  assert.equal(fixed.stampOf!(null), undefined)
})

test('a set after holding a far-future stamp stamps at most now + maxDriftMs, and so loses to it', () => {
  const future: LwwRegisterState = { t: [NOW + 120_000, 7], r: 'fast', v: 'ahead' }
  const d = fixed.ops.set(future, ['mine'], { replica: 'alice', now: NOW })
  assert.deepEqual(d, { t: [NOW + 60_000, 0], r: 'alice', v: 'mine' })
  assert.equal(fixed.view(fixed.merge(future, d!)), 'ahead')
  // Within the bound, the usual HLC: after what it holds.
  const near: LwwRegisterState = { t: [NOW + 30_000, 7], r: 'fast', v: 'near' }
  assert.deepEqual(fixed.ops.set(near, ['mine'], { replica: 'alice', now: NOW })?.t, [NOW + 30_000, 8])
  // Once real time is within maxDriftMs of the far stamp, a set wins again.
  assert.equal(fixed.view(set(future, 'later', 'alice', NOW + 60_000)), 'later')
})

test('two capped sets in one ms get equal stamps: ordered by value bytes, and harmless, since every peer ends with the far stamp', () => {
  const far: LwwRegisterState = { t: [NOW + 120_000, 7], r: 'fast', v: 'ahead' }
  // alice holds the far stamp and sets twice in the same millisecond: both capped at now + 60 s, counter 0.
  const first = fixed.ops.set(far, ['zzz first'], { replica: 'alice', now: NOW })!
  const held = fixed.merge(far, first)
  assert.deepEqual(held, far, 'the first set loses to the far stamp, so the state alice holds is the far stamp again')
  const second = fixed.ops.set(held, ['second'], { replica: 'alice', now: NOW })!
  assert.deepEqual(first.t, second.t, 'the second set cannot tick after the first: its state does not hold the first')
  assert.equal(first.r, second.r)
  // Equal stamps are ordered by value bytes (the longer "zzz first" is greater), not by time, in either order.
  assert.equal(fixed.view(fixed.merge(first, second)), 'zzz first')
  assert.equal(fixed.view(fixed.merge(second, first)), 'zzz first')
  // Peers that got one push each show different values and have equal summaries, so they do not sync each other...
  const p1 = fixed.merge(null, first); const p2 = fixed.merge(null, second)
  assert.deepEqual(fixed.summarize(p1), fixed.summarize(p2))
  assert.equal(fixed.delta(p1, fixed.summarize(p2)), undefined)
  // ...but alice's summary (the far stamp) differs from both: her delta is the far stamp, and both end with it.
  for (const p of [p1, p2, fixed.merge(p1, second)]) {
    const d = fixed.delta(held, fixed.summarize(p))
    assert.deepEqual(d, far)
    assert.deepEqual(fixed.merge(p, fixed.validate(d)), far)
  }
})

test('withParams changes how far past its clock a replica may stamp, and checks the parameter', () => {
  const loose = fixed.withParams!({ maxDriftMs: 300_000 })
  assert.deepEqual(loose.params, { maxDriftMs: 300_000 })
  const future: LwwRegisterState = { t: [NOW + 120_000, 0], r: 'fast', v: 1 }
  assert.deepEqual(loose.ops.set(future, [2], { replica: 'alice', now: NOW })?.t, [NOW + 120_000, 1])
  const strict = fixed.withParams!({ maxDriftMs: 0 })
  assert.deepEqual(strict.ops.set(future, [2], { replica: 'alice', now: NOW })?.t, [NOW, 0])
  assert.deepEqual(strict.validate(future), future, 'the parameter never changes validity')
  for (const bad of [{ maxDriftMs: -1 }, { maxDriftMs: 1.5 }, { maxDriftMs: '60000' }, { maxDriftMs: null }, { drift: 5 }] as JsonObject[]) {
    assert.throws(() => fixed.withParams!(bad), hasCode('bad_args'), JSON.stringify(bad))
  }
  assert.deepEqual(lwwRegister.params, { maxDriftMs: 60_000 })
})

test('set needs exactly one JSON value', () => {
  for (const args of [[], [1, 2], [Number.NaN], [{ f: () => 1 }]] as unknown as JsonValue[][]) {
    assert.throws(() => fixed.ops.set(null, args, { replica: 'alice', now: NOW }), hasCode('bad_args'), String(args.length))
  }
})

test('values are as deep as a state can carry through the codec, no deeper', () => {
  const nested = (k: number): JsonValue => { let v: JsonValue = 1; for (let i = 0; i < k; i++) v = [v]; return v }
  const ok = set(null, nested(MAX_VALUE_DEPTH), 'alice', NOW)
  assert.deepEqual(fixed.validate(decode(encode(ok))), ok)
  assert.throws(() => fixed.ops.set(null, [nested(MAX_VALUE_DEPTH + 1)], { replica: 'alice', now: NOW }), hasCode('bad_args'))
})

test('validate rejects garbage with invalid_state', () => {
  const garbage: unknown[] = [
    0, 'x', [], {}, { t: [NOW, 0], r: 'alice' }, { t: [NOW, 0], r: 'alice', v: 1, x: 1 },
    { t: [NOW], r: 'alice', v: 1 }, { t: [NOW, -1], r: 'alice', v: 1 }, { t: [NOW, 0.5], r: 'alice', v: 1 },
    { t: ['1', 0], r: 'alice', v: 1 }, { t: [NOW, 0], r: '', v: 1 }, { t: [NOW, 0], r: 'alice', v: new Uint8Array(1) },
    { t: [NOW, 0], r: 'alice', v: undefined }
  ]
  for (const x of garbage) {
    assert.throws(() => fixed.validate(x), hasCode('invalid_state'), String(JSON.stringify(x)))
  }
  for (const x of [0, [], [NOW, 0], [NOW, 0, 7], { t: [NOW, 0] }]) {
    assert.throws(() => fixed.validateSummary(x), hasCode('invalid_summary'), JSON.stringify(x))
  }
})
