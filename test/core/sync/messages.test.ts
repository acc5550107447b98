import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { type Plain, encode } from '../../../core/codec.ts'
import { HASH_BYTES } from '../../../core/sync/key-index.ts'
import {
  ACK_HASH_BYTES, type DeltaItem, MAX_RANGE_ITEMS, type PushItem, MAX_WIRE_BYTES, type Message, PROTOCOL_VERSION, ProtocolError,
  type SumItem, chunk, decodeMessage, encodeMessage, entrySize, refsSize
} from '../../../core/sync/messages.ts'
import type { BoundRef } from '../../../core/subscription.ts'

// ---- arbitraries: every message type, with valid fields -----------------------------------------

const keyArb = fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom('a', 'b', 'k', '/', '0', '9', 'é', '日', '😀') })
const hash16 = fc.uint8Array({ minLength: HASH_BYTES, maxLength: HASH_BYTES })
const hash8 = fc.uint8Array({ minLength: ACK_HASH_BYTES, maxLength: ACK_HASH_BYTES })
const uint = fc.nat({ max: 2 ** 40 })
const refArb: fc.Arbitrary<BoundRef> = fc.oneof(
  fc.constantFrom('or-set', 'g-counter', 'lww-register', 'log').map(id => ({ id })),
  fc.integer({ min: 1, max: 1000 }).map(n => ({ id: 'log', params: { keepLast: n } }))
)
// JSON as the codec carries it: no -0 (it encodes as 0), no "__proto__" keys (the decoder refuses them); plus byte strings.
const plain: fc.Arbitrary<Plain> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map(v => JSON.parse(JSON.stringify(v)) as Plain).filter(v => !JSON.stringify(v).includes('__proto__')),
  fc.uint8Array({ maxLength: 20 })
)
const deltaItem: fc.Arbitrary<DeltaItem> = fc.record({ key: keyArb, contract: refArb, delta: plain })
const pushItem: fc.Arbitrary<PushItem> = fc.record({ key: keyArb, contract: refArb, delta: plain, base: fc.option(hash16, { nil: null }) })
const sumItem: fc.Arbitrary<SumItem> = fc.oneof(
  fc.record({ key: keyArb, contract: refArb, summary: plain }),
  keyArb.map(key => ({ key, contract: null, summary: null }))
)
const sid = fc.record({ n: uint, fromInitiator: fc.boolean() })
/** A range [lo, hi) with lo < hi, and up to MAX_RANGE_ITEMS distinct keys inside it, ascending. */
const range = fc.tuple(fc.string({ maxLength: 4 }), fc.option(keyArb, { nil: null }))
  .filter(([lo, hi]) => hi === null || lo < hi)
const rangeFp = fc.tuple(range, uint, hash16).map(([[lo, hi], count, fp]) => ({ lo, hi, count, fp }))
const rangeItems = fc.tuple(range, fc.uniqueArray(fc.tuple(keyArb, hash16), { maxLength: MAX_RANGE_ITEMS, selector: ([k]) => k }))
  .map(([[lo, hi], items]) => ({
    lo,
    hi,
    items: items.filter(([k]) => k >= lo && (hi === null || k < hi)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  }))

const rangeSums = fc.tuple(range, fc.uniqueArray(fc.record({ key: keyArb, contract: refArb, summary: plain }), { maxLength: MAX_RANGE_ITEMS, selector: s => s.key }))
  .map(([[lo, hi], sums]) => ({
    lo,
    hi,
    sums: sums.filter(({ key: k }) => k >= lo && (hi === null || k < hi)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }))

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.array(pushItem, { maxLength: 6 }).map(items => ({ type: 'push' as const, items })),
  fc.record({ count: uint, fp: hash16 }).map(d => ({ type: 'digest' as const, ...d })),
  fc.record({ sid, seq: uint, fps: fc.array(rangeFp, { maxLength: 4 }), items: fc.array(rangeItems, { maxLength: 3 }), sums: fc.array(rangeSums, { maxLength: 2 }) }).map(m => ({ type: 'ranges' as const, ...m })),
  fc.record({ sid, seq: uint, reply: fc.boolean(), sums: fc.array(sumItem, { maxLength: 5 }) }).map(m => ({ type: 'sums' as const, ...m })),
  fc.record({ sid, seq: uint, items: fc.array(deltaItem, { maxLength: 6 }) }).map(m => ({ type: 'deltas' as const, ...m })),
  fc.record({ sid, re: uint, spawned: fc.array(uint, { maxLength: 4 }), hashes: fc.array(hash8, { maxLength: 5 }) }).map(m => ({ type: 'ack' as const, ...m }))
)

/** The value with every byte string as a plain Uint8Array (the decoder hands out Buffers inside states). */
function plainBytes (x: unknown): unknown {
  if (x instanceof Uint8Array) return Uint8Array.from(x)
  if (Array.isArray(x)) return x.map(plainBytes)
  if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plainBytes(v)]))
  return x
}

/** Decodes, and insists that failure is a ProtocolError and nothing else. */
function decodeOrProtocolError (bytes: Uint8Array): Message | ProtocolError {
  try {
    return decodeMessage(bytes)
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${(err as Error)?.name}: ${(err as Error)?.message}`)
    return err
  }
}

function rejects (wire: unknown, code: ProtocolError['code'], pattern?: RegExp): void {
  const bytes = wire instanceof Uint8Array ? wire : encode(wire)
  const r = decodeOrProtocolError(bytes)
  assert.ok(r instanceof ProtocolError, `accepted ${JSON.stringify(wire, (_k, v) => v instanceof Uint8Array ? `<${v.length} bytes>` : v)}`)
  assert.equal(r.code, code, r.message)
  if (pattern !== undefined) assert.match(r.message, pattern)
}

// ---- round trips ------------------------------------------------------------------------------

test('every message type survives encode → decode unchanged, and re-encodes to the same bytes', () => {
  fc.assert(fc.property(message, m => {
    const bytes = encodeMessage(m)
    const back = decodeMessage(bytes)
    assert.deepEqual(plainBytes(back), plainBytes(m))
    assert.equal(Buffer.compare(encodeMessage(back), bytes), 0)
  }), { numRuns: 2000 })
})

test('an idle digest is under 32 bytes whatever the key count', () => {
  for (const count of [0, 1_000, 100_000, 2 ** 32 - 1]) {
    const bytes = encodeMessage({ type: 'digest', count, fp: new Uint8Array(HASH_BYTES).fill(0xab) })
    assert.ok(bytes.length <= 32, `${count} keys: ${bytes.length} bytes`)
  }
})

test('a delta list names each contract once', () => {
  const items = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, contract: { id: 'or-set' }, delta: [i], base: null }))
  const bytes = encodeMessage({ type: 'push', items })
  assert.equal(Buffer.from(bytes).toString('latin1').split('or-set').length - 1, 1)
  assert.deepEqual(decodeMessage(bytes), { type: 'push', items })
})

// ---- hostile input ----------------------------------------------------------------------------

test('random bytes decode to a valid message or a ProtocolError, never another exception', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), bytes => { decodeOrProtocolError(bytes) }), { numRuns: 5000 })
})

test('corrupted, truncated and extended encodings decode to a valid message or a ProtocolError', () => {
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('append' as const), tail: fc.uint8Array({ minLength: 1, maxLength: 8 }) })
  )
  fc.assert(fc.property(message, fc.array(mutation, { minLength: 1, maxLength: 3 }), (m, mutations) => {
    let bytes = encodeMessage(m)
    for (const mu of mutations) {
      if (mu.kind === 'flip' && bytes.length > 0) { bytes = bytes.slice(); bytes[mu.at % bytes.length] = mu.byte }
      if (mu.kind === 'cut') bytes = bytes.subarray(0, mu.at % Math.max(1, bytes.length))
      if (mu.kind === 'append') bytes = Uint8Array.from([...bytes, ...mu.tail])
    }
    decodeOrProtocolError(bytes)
  }), { numRuns: 3000 })
})

test('truncated messages are malformed', () => {
  const bytes = encodeMessage({ type: 'digest', count: 5, fp: new Uint8Array(HASH_BYTES) })
  for (let n = 0; n < bytes.length; n++) rejects(bytes.subarray(0, n), 'malformed')
  rejects(Uint8Array.from([...bytes, 0]), 'malformed', /trailing/)
})

test('oversize input is refused before it is parsed', () => {
  rejects(new Uint8Array(MAX_WIRE_BYTES + 1), 'too_large', /over the/)
  const huge = encode([1, 'push', ['or-set'], [['k', 0, new Uint8Array(MAX_WIRE_BYTES), null]]])
  rejects(huge, 'too_large')
})

test('hostile CBOR (tags, indefinite lengths, __proto__) is malformed', () => {
  rejects(Uint8Array.from([0xc2, 0x41, 0x01]), 'malformed', /tag/) // bignum tag 2
  rejects(Uint8Array.from([0xd8, 0x1c, 0x80]), 'malformed', /tag/) // shared-reference tag 28
  rejects(Uint8Array.from([0x9f, 0x01, 0xff]), 'malformed', /indefinite/)
  rejects(Uint8Array.from([0xa1, 0x69, ...Buffer.from('__proto__'), 0x01]), 'malformed', /__proto__/)
})

test('a wrong version or an unknown type is refused by name', () => {
  const fp = new Uint8Array(HASH_BYTES)
  rejects([2, 'digest', 1, fp], 'bad_version', /version 2/)
  rejects([0, 'digest', 1, fp], 'bad_version')
  rejects(['1', 'digest', 1, fp], 'bad_version')
  rejects([PROTOCOL_VERSION, 'gossip', 1, fp], 'unknown_type', /gossip/)
  rejects([PROTOCOL_VERSION, 7, 1, fp], 'unknown_type')
  rejects([PROTOCOL_VERSION], 'malformed')
  rejects({ v: 1 }, 'malformed')
  rejects('digest', 'malformed')
})

test('wrong field types, arities and values are refused', () => {
  const v = PROTOCOL_VERSION
  const fp = new Uint8Array(HASH_BYTES)
  const h8 = new Uint8Array(ACK_HASH_BYTES)
  const sidOk = [3, true]
  const cases: Array<[unknown, RegExp]> = [
    [[v, 'digest', 1], /takes 2 fields/],
    [[v, 'digest', 1, fp, 0], /takes 2 fields/],
    [[v, 'digest', -1, fp], /digest count/],
    [[v, 'digest', 1.5, fp], /digest count/],
    [[v, 'digest', '1', fp], /digest count/],
    [[v, 'digest', 1, new Uint8Array(15)], /fingerprint/],
    [[v, 'digest', 1, 'ffff'], /fingerprint/],
    [[v, 'push', [], [['k', 0, 1, null]]], /contract index/],
    [[v, 'push', ['or-set'], [['k', 1, 1, null]]], /contract index/],
    [[v, 'push', ['or-set'], [['k', -1, 1, null]]], /contract index/],
    [[v, 'push', ['or-set'], [['', 0, 1, null]]], /key/],
    [[v, 'push', ['or-set'], [['k'.repeat(1025), 0, 1, null]]], /key/],
    [[v, 'push', ['or-set'], [[7, 0, 1, null]]], /key/],
    [[v, 'push', ['or-set'], [['k', 0, 1]]], /push item/],
    [[v, 'push', ['or-set'], [['k', 0, 1, new Uint8Array(15)]]], /push base/],
    [[v, 'push', ['or-set'], [['k', 0, 1, 'base']]], /push base/],
    [[v, 'deltas', sidOk, 0, ['or-set'], [['k', 0, 1, null]]], /delta item/],
    [[v, 'push', ['bad id!'], []], /contract id/],
    [[v, 'push', [['log', {}]], []], /contract params/],
    [[v, 'push', [['log', [1]]], []], /contract params/],
    [[v, 'push', { k: 1 }, []], /contract table/],
    [[v, 'ranges', [3], 0, [], [], []], /session id/],
    [[v, 'ranges', [3, 1], 0, [], [], []], /initiator flag/],
    [[v, 'ranges', sidOk, -2, [], [], []], /seq/],
    [[v, 'ranges', sidOk, 0, [], []], /takes 5 fields/],
    [[v, 'ranges', sidOk, 0, [['b', 'a', 1, fp]], [], []], /lo must sort before hi/],
    [[v, 'ranges', sidOk, 0, [['a', 'a', 1, fp]], [], []], /lo must sort before hi/],
    [[v, 'ranges', sidOk, 0, [['a', null, 1]], [], []], /range fingerprint/],
    [[v, 'ranges', sidOk, 0, [], [['a', null, [['c', fp], ['b', fp]]]], []], /order/],
    [[v, 'ranges', sidOk, 0, [], [['a', null, [['b', fp], ['b', fp]]]], []], /order/],
    [[v, 'ranges', sidOk, 0, [], [['c', null, [['b', fp]]]], []], /order/],
    [[v, 'ranges', sidOk, 0, [], [['a', 'c', [['d', fp]]]], []], /order/],
    [[v, 'ranges', sidOk, 0, [], [['', null, Array.from({ length: MAX_RANGE_ITEMS + 1 }, (_, i) => [`k${String(i).padStart(2, '0')}`, fp])]], []], /at most/],
    [[v, 'ranges', sidOk, 0, [], [['', null, [['b', h8]]]], []], /item hash/],
    [[v, 'ranges', sidOk, 0, [], [], [['', null, ['or-set'], [['b', 0, 1], ['a', 0, 1]]]]], /order/],
    [[v, 'ranges', sidOk, 0, [], [], [['', null, ['or-set'], [['b', 1, 1]]]]], /contract index/],
    [[v, 'ranges', sidOk, 0, [], [], [['', null, []]]], /range summary list/],
    [[v, 'sums', sidOk, 0, 'yes', []], /reply flag/],
    [[v, 'sums', sidOk, 0, true, [['k', null, [1]]]], /must be null/],
    [[v, 'sums', sidOk, 0, true, [['k', 'or-set']]], /summary item/],
    [[v, 'deltas', sidOk, 0, ['or-set']], /takes 4 fields/],
    [[v, 'ack', sidOk, 0, [-1], new Uint8Array(0)], /spawned seq/],
    [[v, 'ack', sidOk, 0, [], new Uint8Array(7)], /acked hashes/],
    [[v, 'ack', sidOk, 0, [], [h8]], /acked hashes/]
  ]
  for (const [wire, pattern] of cases) rejects(wire, 'bad_field', pattern)
})

// ---- chunking -----------------------------------------------------------------------------------

test('chunked delta lists keep every message within maxMessageBytes, in order, losing only what cannot fit', () => {
  const big = fc.record({
    key: keyArb,
    contract: refArb,
    delta: fc.oneof(plain, fc.nat({ max: 3000 }).map(n => 'x'.repeat(n)))
  })
  fc.assert(fc.property(fc.array(big, { maxLength: 40 }), fc.integer({ min: 1024, max: 8192 }), (items, max) => {
    const empty = encodeMessage({ type: 'deltas', sid: { n: 0xffffffff, fromInitiator: true }, seq: 0xffffffff, items: [] }).length + refsSize(items)
    const { parts, oversize } = chunk(items, entrySize.deltaItem, empty, max)
    for (const part of parts) {
      assert.ok(part.length > 0)
      const bytes = encodeMessage({ type: 'deltas', sid: { n: 2 ** 31, fromInitiator: false }, seq: 2 ** 31, items: part })
      assert.ok(bytes.length <= max, `${bytes.length} > ${max}`)
    }
    // Nothing is lost but the items that alone exceed the room, and order is kept.
    assert.deepEqual([...parts.flat(), ...oversize].length, items.length)
    assert.deepEqual(parts.flat(), items.filter(i => !oversize.includes(i)))
    for (const o of oversize) assert.ok(empty + entrySize.deltaItem(o) + 8 > max)
  }), { numRuns: 300 })
})

test('chunked summaries and ranges stay within the bound, and maxCount caps a part', () => {
  fc.assert(fc.property(fc.array(sumItem, { maxLength: 60 }), fc.integer({ min: 1024, max: 4096 }), fc.integer({ min: 1, max: 10 }), (sums, max, maxCount) => {
    const empty = encodeMessage({ type: 'sums', sid: { n: 0xffffffff, fromInitiator: true }, seq: 0xffffffff, reply: true, sums: [] }).length
    const { parts } = chunk(sums, entrySize.sum, empty, max, maxCount)
    for (const part of parts) {
      assert.ok(part.length <= maxCount)
      assert.ok(encodeMessage({ type: 'sums', sid: { n: 1, fromInitiator: true }, seq: 1, reply: false, sums: part }).length <= max)
    }
  }), { numRuns: 300 })
  fc.assert(fc.property(fc.array(rangeItems, { maxLength: 40 }), fc.integer({ min: 1024, max: 2048 }), (items, max) => {
    const empty = encodeMessage({ type: 'ranges', sid: { n: 0xffffffff, fromInitiator: true }, seq: 0xffffffff, fps: [], items: [], sums: [] }).length
    for (const part of chunk(items, entrySize.rangeItems, empty, max).parts) {
      assert.ok(encodeMessage({ type: 'ranges', sid: { n: 9, fromInitiator: true }, seq: 9, fps: [], items: part, sums: [] }).length <= max)
    }
  }), { numRuns: 200 })
})
