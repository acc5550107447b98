import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { type Plain, encode } from '../../../core/codec.ts'
import {
  type InspectMessage, MAX_INSPECT_BYTES, MAX_INSPECT_VALUE_BYTES, MAX_TEXT, decodeInspectMessage, encodeInspectMessage
} from '../../../core/sync/inspect-messages.ts'
import { HASH_BYTES } from '../../../core/sync/key-index.ts'
import { ProtocolError, decodeMessage } from '../../../core/sync/messages.ts'

const qid = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])
const digest = new Uint8Array(HASH_BYTES).fill(7)
const plain: fc.Arbitrary<Plain> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map(v => JSON.parse(JSON.stringify(v)) as Plain).filter(v => !JSON.stringify(v).includes('__proto__')),
  fc.uint8Array({ maxLength: 20 })
)
const text = fc.string({ minLength: 1, maxLength: 40 }).filter(s => s.isWellFormed())
const ref = fc.oneof(fc.constantFrom('g-counter', 'or-set', 'lww-register').map(id => ({ id })), fc.integer({ min: 1, max: 99 }).map(n => ({ id: 'log', params: { keepLast: n } })))
const bytes = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n })

const inspectArb: fc.Arbitrary<InspectMessage> = fc.record({
  qid: bytes(8),
  key: fc.string({ minLength: 1, maxLength: 20 }).filter(s => s.isWellFormed()),
  mine: fc.option(fc.record({ contract: ref, digest: bytes(HASH_BYTES), summary: fc.option(plain, { nil: undefined }) }, { requiredKeys: ['contract', 'digest'] }), { nil: undefined }),
  write: fc.option(text, { nil: undefined }),
  since: fc.option(fc.nat(), { nil: undefined })
}, { requiredKeys: ['qid', 'key'] }).map(m => ({ type: 'inspect' as const, ...m, ...(m.write === undefined ? { since: undefined } : {}) }))

const stateArb = fc.oneof(
  fc.record({ contract: ref, digest: bytes(HASH_BYTES), summary: plain, hasMore: fc.option(fc.boolean(), { nil: undefined }) }, { requiredKeys: ['contract', 'digest', 'summary'] }).map(s => ({ kind: 'kept' as const, tooLarge: false, ...s })),
  fc.record({ contract: ref, digest: bytes(HASH_BYTES) }).map(s => ({ kind: 'kept' as const, tooLarge: true, ...s })),
  fc.constant({ kind: 'kept' as const, tooLarge: false, hasMore: false }),
  fc.constant({ kind: 'not_kept' as const }),
  text.map(contract => ({ kind: 'lacks_contract' as const, contract }))
)
const inspectedArb: fc.Arbitrary<InspectMessage> = fc.record({
  qid: bytes(8),
  to: text,
  replica: text,
  state: stateArb,
  arrival: fc.option(fc.record({ at: fc.nat(), path: text, from: text, exact: fc.boolean() }), { nil: undefined }),
  written: fc.option(fc.oneof(fc.constant({ status: 'too_old' as const }), fc.constant({ status: 'unknown' as const }), fc.constant({ status: 'logged' as const }), plain.map(delta => ({ status: 'logged' as const, delta }))), { nil: undefined }),
  refused: fc.option(fc.record({ at: fc.nat(), reason: text, message: text }), { nil: undefined }),
  received: fc.option(fc.record({ at: fc.nat(), path: text }), { nil: undefined })
}, { requiredKeys: ['qid', 'to', 'replica', 'state'] }).map(m => ({ type: 'inspected' as const, ...m }))

/** Undefined fields dropped: what a decoder gives back. */
const clean = (x: unknown): unknown => JSON.parse(JSON.stringify(x, function (this: Record<string, unknown>, k, v) {
  const raw = this[k] // before toJSON: a Buffer and a Uint8Array alike
  return raw instanceof Uint8Array ? { bytes: [...raw] } : v
}))

test('every inspection message decodes to what was encoded, and its bytes are canonical', () => {
  fc.assert(fc.property(fc.oneof(inspectArb, inspectedArb), m => {
    const b = encodeInspectMessage(m)
    const back = decodeInspectMessage(b)
    assert.deepEqual(clean(back), clean(m))
    assert.deepEqual([...encodeInspectMessage(back)], [...b])
  }), { seed: 10, numRuns: 300 })
})

test('inspection messages are no sync message: the sync decoder refuses types 10 and 11, so they stay on their own topic', () => {
  for (const m of [{ type: 'inspect', qid, key: 'k' }, { type: 'inspected', qid, to: 'a', replica: 'r', state: { kind: 'not_kept' } }] as InspectMessage[]) {
    assert.throws(() => decodeMessage(encodeInspectMessage(m)), (e: unknown) => e instanceof ProtocolError && e.code === 'unknown_type')
  }
})

const kept = (fields: Plain[]): Plain => [3, 11, qid, 'asker', 'replica', [0, ...fields], null, null, null, null]

/** Each malformed message, and the code and words its refusal must carry. */
const MALFORMED: Array<[string, Plain | Uint8Array, string, RegExp]> = [
  ['not an array', 5, 'malformed', /array/],
  ['another protocol version', [4, 10, qid, 'k', null, null, null], 'bad_version', /version 4/],
  ['protocol version 2', [2, 10, qid, 'k', null, null, null], 'bad_version', /version 2 is not supported/],
  ['an unknown type', [3, 12, qid, 'k', null, null, null], 'unknown_type', /type 12/],
  ['a sync type', [3, 1, [], []], 'unknown_type', /type 1/],
  ['inspect with a field missing', [3, 10, qid, 'k', null, null], 'bad_field', /takes 5 fields/],
  ['inspect with a field too many', [3, 10, qid, 'k', null, null, null, null], 'bad_field', /takes 5 fields/],
  ['a query id of 7 bytes', [3, 10, qid.subarray(0, 7), 'k', null, null, null], 'bad_field', /query id/],
  ['a query id that is text', [3, 10, 'abcdefgh', 'k', null, null, null], 'bad_field', /query id/],
  ['an empty key', [3, 10, qid, '', null, null, null], 'bad_field', /key/],
  ['a key that is a number', [3, 10, qid, 7, null, null, null], 'bad_field', /key/],
  ['a key over the key size limit', [3, 10, qid, 'k'.repeat(5000), null, null, null], 'bad_field', /key/],
  ['a bad contract id', [3, 10, qid, 'k', ['no spaces allowed', digest, null], null, null], 'bad_field', /contract id/],
  ['a digest of 15 bytes', [3, 10, qid, 'k', ['g-counter', digest.subarray(1), null], null, null], 'bad_field', /digest/],
  ['the asker\'s summary not a triple', [3, 10, qid, 'k', ['g-counter', digest], null, null], 'bad_field', /summary/],
  ['a summary not boxed', [3, 10, qid, 'k', ['g-counter', digest, 5], null, null], 'bad_field', /summary/],
  ['a summary over the cap', [3, 10, qid, 'k', ['g-counter', digest, [new Uint8Array(MAX_INSPECT_VALUE_BYTES)]], null, null], 'bad_field', /over/],
  ['a write id that is a number', [3, 10, qid, 'k', null, 5, null], 'bad_field', /write id/],
  ['an empty write id', [3, 10, qid, 'k', null, '', null], 'bad_field', /write id/],
  ['a write id too long', [3, 10, qid, 'k', null, 'x'.repeat(MAX_TEXT + 1), null], 'bad_field', /write id/],
  ['a write time without a write id', [3, 10, qid, 'k', null, null, 5], 'bad_field', /only with a write id/],
  ['a negative write time', [3, 10, qid, 'k', null, 'r/1', -5], 'bad_field', /write time/],
  ['inspected with a field missing', [3, 11, qid, 'a', 'r', [1], null, null, null], 'bad_field', /takes 8 fields/],
  ['a last-received of one field', [3, 11, qid, 'a', 'r', [1], null, null, null, [5]], 'bad_field', /last received/],
  ['an empty asker', [3, 11, qid, '', 'r', [1], null, null, null, null], 'bad_field', /asker/],
  ['a replica id that is bytes', [3, 11, qid, 'a', new Uint8Array(3), [1], null, null, null, null], 'bad_field', /replica/],
  ['an unknown key state', [3, 11, qid, 'a', 'r', [3], null, null, null, null], 'bad_field', /key state/],
  ['a key state that is not a list', [3, 11, qid, 'a', 'r', 1, null, null, null, null], 'bad_field', /key state/],
  ['not-kept with a field', [3, 11, qid, 'a', 'r', [1, 'x'], null, null, null, null], 'bad_field', /not-kept/],
  ['lacks-contract without its name', [3, 11, qid, 'a', 'r', [2], null, null, null, null], 'bad_field', /lacks-contract/],
  ['kept with a field missing', kept([null, null, null, false]), 'bad_field', /kept state/],
  ['kept holding nothing but with a digest', kept([null, digest, null, false, null]), 'bad_field', /holds nothing/],
  ['kept holding nothing but too large', kept([null, null, null, true, null]), 'bad_field', /holds nothing/],
  ['kept with no summary and not too large', kept(['g-counter', digest, null, false, null]), 'bad_field', /missing/],
  ['kept with a summary said to be too large', kept(['g-counter', digest, [{}], true, null]), 'bad_field', /too large is there/],
  ['a too-large flag that is 0', kept(['g-counter', digest, [{}], 0, null]), 'bad_field', /too-large/],
  ['a has-more flag that is text', kept(['g-counter', digest, [{}], false, 'yes']), 'bad_field', /has-more/],
  ['an arrival with a negative time', [3, 11, qid, 'a', 'r', [1], [-1, 'push', 'p', true], null, null, null], 'bad_field', /arrival time/],
  ['an arrival of three fields', [3, 11, qid, 'a', 'r', [1], [1, 'push', 'p'], null, null, null], 'bad_field', /arrival/],
  ['an arrival whose exact flag is 1', [3, 11, qid, 'a', 'r', [1], [1, 'push', 'p', 1], null, null, null], 'bad_field', /exact flag/],
  ['an unknown write status', [3, 11, qid, 'a', 'r', [1], null, [7], null, null], 'bad_field', /write status/],
  ['a logged write with its delta not boxed', [3, 11, qid, 'a', 'r', [1], null, [0, 5], null, null], 'bad_field', /write delta/],
  ['a too-old write with a delta', [3, 11, qid, 'a', 'r', [1], null, [1, null], null, null], 'bad_field', /write status/],
  ['a refusal without its message', [3, 11, qid, 'a', 'r', [1], null, null, [1, 'invalid'], null], 'bad_field', /refusal/]
]

test('every malformed inspection message is refused with a ProtocolError naming what is wrong', () => {
  for (const [what, v, code, words] of MALFORMED) {
    const b = v instanceof Uint8Array ? v : encode(v)
    assert.throws(() => decodeInspectMessage(b), (e: unknown) => {
      assert.ok(e instanceof ProtocolError, `${what}: ${String(e)}`)
      assert.equal(e.code, code, `${what}: ${e.message}`)
      assert.match(e.message, words, what)
      return true
    }, what)
  }
})

test('bytes that are not canonical CBOR, too many bytes, or no bytes at all are refused', () => {
  const good = encodeInspectMessage({ type: 'inspect', qid, key: 'k' })
  // The version 3 as a two-byte integer (0x18 0x03) instead of one byte: a second encoding of the same message.
  const long = new Uint8Array([good[0], 0x18, 0x03, ...good.subarray(2)])
  assert.throws(() => decodeInspectMessage(long), (e: unknown) => e instanceof ProtocolError && e.code === 'malformed' && /canonical/.test(e.message))
  assert.throws(() => decodeInspectMessage(new Uint8Array(MAX_INSPECT_BYTES + 1)), (e: unknown) => e instanceof ProtocolError && e.code === 'too_large')
  assert.throws(() => decodeInspectMessage(new Uint8Array([0xff])), (e: unknown) => e instanceof ProtocolError && e.code === 'malformed')
  assert.throws(() => decodeInspectMessage('x' as unknown as Uint8Array), (e: unknown) => e instanceof ProtocolError && e.code === 'malformed')
})

test('an encoder never emits a message over the cap: a summary too large must be left out by the caller', () => {
  const huge = { type: 'inspect' as const, qid, key: 'k', mine: { contract: { id: 'g-counter' }, digest, summary: new Uint8Array(2 * MAX_INSPECT_VALUE_BYTES + 5000) } }
  assert.throws(() => encodeInspectMessage(huge), RangeError)
})
