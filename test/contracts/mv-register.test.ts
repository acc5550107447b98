import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decode, encode } from '../../core/codec.ts'
import { ContractError } from '../../core/errors.ts'
import { type JsonValue, MAX_VALUE_DEPTH } from '../../core/json.ts'
import { checkLaws } from '../../core/laws.ts'
import { builtinLawInputs } from '../../contracts/law-inputs.ts'
import { type MvRegisterState, mvRegister } from '../../contracts/mv-register.ts'
import { ISSUE_PAIR, assertForgedJoin } from '../helpers/forged-dots.ts'

const NOW = 1_700_000_000_000

function set (s: MvRegisterState, value: JsonValue, replica: string): MvRegisterState {
  const d = mvRegister.ops.set(s, [value], { replica, now: NOW })
  assert.ok(d !== undefined, 'set always writes')
  return mvRegister.merge(s, d)
}

function hasCode (code: string) {
  return (err: unknown) => err instanceof ContractError && err.code === code
}

test('mv-register obeys every law', () => {
  const report = checkLaws(mvRegister, builtinLawInputs['mv-register'], { numRuns: 1000 })
  assert.ok(report.ok, JSON.stringify(report.failures, null, 2))
})

test('two concurrent sets both show; a later set overwrites both', () => {
  const a = set(mvRegister.empty(), 'x', 'alice')
  const b = set(mvRegister.empty(), 'y', 'bob')
  const both = mvRegister.merge(a, b)
  assert.deepEqual(mvRegister.view(both), ['x', 'y'])
  assert.deepEqual(mvRegister.view(mvRegister.merge(b, a)), ['x', 'y'])
  const later = set(both, 'z', 'carol')
  assert.deepEqual(mvRegister.view(later), ['z'])
  // a replica that only saw one side learns the overwrite from the delta alone
  const d = mvRegister.delta(later, mvRegister.summarize(a))
  assert.ok(d !== undefined)
  assert.deepEqual(mvRegister.view(mvRegister.merge(a, mvRegister.validate(d))), ['z'])
})

test('an overwrite only removes what it saw', () => {
  const base = set(mvRegister.empty(), 'old', 'alice')
  const overwrite = set(base, 'new', 'alice')
  const concurrent = set(base, 'other', 'bob')
  assert.deepEqual(mvRegister.view(mvRegister.merge(overwrite, concurrent)), ['new', 'other'])
})

test('equal concurrent values show once', () => {
  const a = set(mvRegister.empty(), { k: 1 }, 'alice')
  const b = set(mvRegister.empty(), { k: 1 }, 'bob')
  const m = mvRegister.merge(a, b)
  assert.equal(m.e.length, 2)
  assert.deepEqual(mvRegister.view(m), [{ k: 1 }])
})

test('set needs exactly one JSON value', () => {
  for (const args of [[], ['a', 'b'], [Number.POSITIVE_INFINITY], [new Date(0)]] as unknown as JsonValue[][]) {
    assert.throws(() => mvRegister.ops.set(mvRegister.empty(), args, { replica: 'alice', now: NOW }), hasCode('bad_args'))
  }
})

test('values are as deep as a state can carry through the codec, no deeper', () => {
  const nested = (k: number): JsonValue => { let v: JsonValue = 1; for (let i = 0; i < k; i++) v = [v]; return v }
  const ok = set(mvRegister.empty(), nested(MAX_VALUE_DEPTH), 'alice')
  assert.deepEqual(mvRegister.validate(decode(encode(ok))), ok)
  assert.throws(() => mvRegister.ops.set(mvRegister.empty(), [nested(MAX_VALUE_DEPTH + 1)], { replica: 'alice', now: NOW }), hasCode('bad_args'))
})

test('validate rejects garbage with invalid_state', () => {
  const garbage: unknown[] = [
    null, [], {}, { e: [] }, { e: [], c: [], x: 1 }, { e: {}, c: [] },
    { e: [['x']], c: [['alice', [1, 1]]] }, // entry without a dot
    { e: [['x', ['alice', 0]]], c: [['alice', [1, 1]]] }, // bad dot
    { e: [['x', ['alice', 2]]], c: [['alice', [1, 1]]] }, // dot not in context
    { e: [['x', ['alice', 1]], ['y', ['alice', 1]]], c: [['alice', [1, 1]]] }, // duplicate dot
    { e: [['y', ['alice', 1]], ['x', ['alice', 2]]], c: [['alice', [1, 2]]] }, // unsorted entries
    { e: [['x', ['bob', 1]]], c: [['bob', [1, 1]], ['alice', [1, 1]]] }, // unsorted context
    { e: [[undefined, ['alice', 1]]], c: [['alice', [1, 1]]] }, // not JSON
    { e: [], c: [['alice', [2, 1]]] } // bad range
  ]
  for (const x of garbage) {
    assert.throws(() => mvRegister.validate(x), hasCode('invalid_state'), String(JSON.stringify(x)))
  }
  assert.throws(() => mvRegister.validateSummary({ e: [], c: [] }), hasCode('invalid_summary'))
})

test('summary size: context and live dots stay one range per replica under many overwrites', t => {
  let s = mvRegister.empty()
  for (let i = 0; i < 1000; i++) s = set(s, i, ['alice', 'bob', 'carol'][i % 3])
  const summaryBytes = encode(mvRegister.summarize(s)).length
  t.diagnostic(`mv-register summary after 1000 sets by 3 replicas: ${summaryBytes} bytes (state ${encode(s).length} bytes)`)
  assert.deepEqual(mvRegister.view(s), [999])
  assert.ok(summaryBytes <= 64, `${summaryBytes} bytes`)
})

test('forged states with other content under one dot (the issue\'s evil/honest pair) merge to one valid state, in any order', () => {
  const [evil, honest] = ISSUE_PAIR.map(x => mvRegister.validate(x))
  const concurrent = set(mvRegister.empty(), 'z', 'bob')
  const merged = assertForgedJoin(mvRegister, [evil, honest, concurrent, set(evil, 'over', 'alice')])
  assert.deepEqual(mvRegister.view(merged), ['honest'])
  assert.deepEqual(mvRegister.view(mvRegister.merge(mvRegister.merge(evil, concurrent), honest)), ['z', 'honest'])
  assert.deepEqual(mvRegister.view(mvRegister.merge(honest, mvRegister.merge(concurrent, evil))), ['z', 'honest'])
  assert.deepEqual(mvRegister.summarize(evil), mvRegister.summarize(honest), 'equal summaries: sync cannot tell them apart')
})
