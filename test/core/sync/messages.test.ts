import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { type Plain, encode } from '../../../core/codec.ts'
import { HASH_BYTES } from '../../../core/sync/key-index.ts'
import {
  ACK_HASH_BYTES, type DeltaItem, ITEM_HASH_BYTES, MAX_RANGE_ITEMS, RANGE_FP_BYTES, MAX_WIRE_BYTES, type Message, PROTOCOL_VERSION, ProtocolError,
  type Summary, chunk, decodeMessage, encodeMessage, entrySize, fpOffset, matchesFp, refsSize
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
const summary: fc.Arbitrary<Summary> = fc.record({ key: keyArb, contract: refArb, summary: plain })
const sid = fc.record({ n: uint, fromInitiator: fc.boolean() })
/** A range [lo, hi) with lo < hi, and up to MAX_RANGE_ITEMS distinct keys inside it, ascending. */
const range = fc.tuple(fc.string({ maxLength: 4 }), fc.option(keyArb, { nil: null }))
  .filter(([lo, hi]) => hi === null || lo < hi)
const hashFp = fc.uint8Array({ minLength: RANGE_FP_BYTES, maxLength: RANGE_FP_BYTES })
const rangeFp = fc.tuple(range, uint, hashFp).map(([[lo, hi], count, fp]) => ({ lo, hi, count, fp }))
const hashItem = fc.uint8Array({ minLength: ITEM_HASH_BYTES, maxLength: ITEM_HASH_BYTES })
const rangeItems = fc.tuple(range, fc.uniqueArray(fc.tuple(keyArb, hashItem), { maxLength: 20, selector: ([k]) => k }))
  .map(([[lo, hi], items]) => ({
    lo,
    hi,
    items: items.filter(([k]) => k >= lo && (hi === null || k < hi)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  }))

const rangeSums = fc.tuple(range, fc.uniqueArray(summary, { maxLength: 20, selector: s => s.key }))
  .map(([[lo, hi], sums]) => ({
    lo,
    hi,
    sums: sums.filter(({ key: k }) => k >= lo && (hi === null || k < hi)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }))

/** A range cut at ascending bounds: consecutive fingerprints that share their bounds (they travel as one split). */
const split = fc.tuple(fc.uniqueArray(keyArb, { minLength: 1, maxLength: 6 }), fc.option(keyArb, { nil: null }))
  .map(([bounds, hi]) => [bounds.sort(), hi] as const)
  .filter(([bounds, hi]) => hi === null || bounds[bounds.length - 1] < hi)
  .chain(([bounds, hi]) => fc.array(fc.tuple(uint, hashFp), { minLength: bounds.length, maxLength: bounds.length })
    .map(parts => parts.map(([count, fp], i) => ({ lo: bounds[i], hi: i + 1 < bounds.length ? bounds[i + 1] : hi, count, fp }))))

/** Salted lists: consecutive ranges that do not overlap, each with its keys and 8-byte salted hashes. */
const saltedLists = fc.tuple(fc.uniqueArray(keyArb, { maxLength: 12 }), fc.integer({ min: 1, max: 4 }))
  .map(([keys, groups]) => {
    const sorted = keys.sort()
    const size = Math.max(1, Math.ceil(sorted.length / groups))
    const lists: Array<{ lo: string, hi: string | null, items: Array<[string, Uint8Array]> }> = []
    for (let i = 0; i === 0 || i < sorted.length; i += size) {
      const part = sorted.slice(i, i + size)
      const lo = i === 0 ? '' : part[0]
      const next = sorted[i + size]
      lists.push({ lo, hi: next ?? null, items: part.map((k, j): [string, Uint8Array] => [k, new Uint8Array(8).fill(j)]) })
    }
    return lists
  })

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ sid, seq: uint, salt: hash16, lists: saltedLists }).map(m => ({ type: 'salted' as const, ...m })),
  fc.array(deltaItem, { maxLength: 6 }).map(items => ({ type: 'push' as const, items })),
  hash16.map(fp => ({ type: 'digest' as const, fp })),
  fc.record({ fp: hash16, was: hash16 }).map(d => ({ type: 'digest' as const, ...d })),
  fc.record({ fp: hash16, was: fc.option(hash16, { nil: undefined }) }).map(({ fp, was }) => ({ type: 'digest' as const, fp, ...(was === undefined ? {} : { was }), partial: true as const })),
  fc.uniqueArray(keyArb, { minLength: 1, maxLength: 6 }).map(keys => ({ type: 'want' as const, keys: keys.sort() })),
  hash16.map(fp => ({ type: 'scope' as const, fp })),
  fc.record({ sid, seq: uint, fps: fc.oneof(fc.array(rangeFp, { maxLength: 4 }), split), items: fc.array(rangeItems, { maxLength: 3 }), sums: fc.array(rangeSums, { maxLength: 2 }) }).map(m => ({ type: 'ranges' as const, ...m })),
  fc.record({ sid, seq: uint, reply: fc.boolean(), sums: fc.array(summary, { maxLength: 5 }), lacking: fc.array(keyArb, { maxLength: 4 }) }).map(m => ({ type: 'sums' as const, ...m })),
  fc.record({ sid, seq: uint, check: fc.boolean(), items: fc.array(deltaItem, { maxLength: 6 }) }).map(m => ({ type: 'deltas' as const, ...m })),
  fc.record({ sid, re: uint, spawned: fc.array(uint, { maxLength: 4 }), hashes: fc.array(hash8, { maxLength: 5 }) }).map(m => ({ type: 'ack' as const, ...m })),
  fc.array(fc.tuple(deltaItem, fc.option(fc.record({ replica: fc.stringMatching(/^[A-Za-z0-9+]{1,30}$/), first: fc.integer({ min: 1, max: 1e6 }), n: fc.nat(100), writtenAt: fc.nat() }), { nil: undefined })), { maxLength: 6 })
    .map(pairs => ({ type: 'writes' as const, items: pairs.map(p => p[0]), writes: pairs.map(([, w]) => w === undefined ? undefined : { replica: w.replica, first: w.first, last: w.first + w.n, writtenAt: w.writtenAt }) }))
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

test('a digest is 20 bytes, whatever the key count; 37 with the state it was', () => {
  const fp = new Uint8Array(HASH_BYTES).fill(0xab)
  assert.equal(encodeMessage({ type: 'digest', fp }).length, 20)
  assert.equal(encodeMessage({ type: 'digest', fp, was: new Uint8Array(HASH_BYTES) }).length, 37)
})

test('a delta list names each contract once', () => {
  const items = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, contract: { id: 'or-set' }, delta: [i] }))
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
  const bytes = encodeMessage({ type: 'digest', fp: new Uint8Array(HASH_BYTES) })
  for (let n = 0; n < bytes.length; n++) rejects(bytes.subarray(0, n), 'malformed')
  rejects(Uint8Array.from([...bytes, 0]), 'malformed', /trailing/)
})

test('oversize input is refused before it is parsed', () => {
  rejects(new Uint8Array(MAX_WIRE_BYTES + 1), 'too_large', /over the/)
  const huge = encode([1, 'push', ['or-set'], [['k', 0, new Uint8Array(MAX_WIRE_BYTES)]]])
  rejects(huge, 'too_large')
})

test('hostile CBOR (tags, indefinite lengths, __proto__) is malformed', () => {
  rejects(Uint8Array.from([0xc2, 0x41, 0x01]), 'malformed', /tag/) // bignum tag 2
  rejects(Uint8Array.from([0xd8, 0x1c, 0x80]), 'malformed', /tag/) // shared-reference tag 28
  rejects(Uint8Array.from([0x9f, 0x01, 0xff]), 'malformed', /indefinite/)
  rejects(Uint8Array.from([0xa1, 0x69, ...Buffer.from('__proto__'), 0x01]), 'malformed', /__proto__/)
})

test('non-canonical encodings of a valid message are malformed (PROTOCOL.md §1: messages are canonical)', () => {
  const fp = new Uint8Array(HASH_BYTES).fill(7)
  const good = encodeMessage({ type: 'digest', fp })
  assert.deepEqual([...good.subarray(0, 3)], [0x83, 0x03, 0x02])
  // The version as a 1-byte integer (0x18 0x03), not in the header: the same value, a second encoding.
  rejects(Uint8Array.from([0x83, 0x18, 0x03, ...good.subarray(2)]), 'malformed', /canonical/)
  // A 2-byte length for the array, or for the 16-byte string.
  rejects(Uint8Array.from([0x98, 0x03, ...good.subarray(1)]), 'malformed', /canonical/)
  rejects(Uint8Array.from([...good.subarray(0, 3), 0x58, 0x10, ...fp]), 'malformed', /canonical/)
  // A float for an integer field, and map keys out of canonical order inside a delta.
  rejects(Uint8Array.from([0x83, 0xf9, 0x42, 0x00, ...good.subarray(2)]), 'malformed')
  const item = (m: Record<string, Plain>): Uint8Array => encode([PROTOCOL_VERSION, 1, ['or-set'], [0, 'k', m]])
  const sorted = item({ a: 1, bb: 2 })
  assert.equal(decodeMessage(sorted).type, 'push')
  const swapped = Buffer.from(sorted).toString('hex').replace('61610162626202', '62626202616101')
  assert.notEqual(swapped, Buffer.from(sorted).toString('hex'))
  rejects(Uint8Array.from(Buffer.from(swapped, 'hex')), 'malformed', /canonical/)
})

test('a wrong version or an unknown type is refused by name', () => {
  const fp = new Uint8Array(HASH_BYTES)
  rejects([PROTOCOL_VERSION + 1, 2, fp], 'bad_version', new RegExp(`version ${PROTOCOL_VERSION + 1}`))
  rejects([1, 'digest', 1, fp], 'bad_version') // version 1 pushes carried a base; its peers are not spoken to
  // Version 2 digests were XORs of item hashes (forgeable): a well-formed version-2 message is refused, and says why.
  rejects([2, 2, fp], 'bad_version', /version 2 is not supported \(this peer speaks 3\): version 2 digests are XORs/)
  rejects([2, 1, ['g-counter'], [0, 'k', { r: 1 }]], 'bad_version', /version 2/)
  rejects([0, 2, fp], 'bad_version')
  rejects(['2', 2, fp], 'bad_version')
  rejects([PROTOCOL_VERSION, 'gossip', 1, fp], 'unknown_type', /gossip/)
  rejects([PROTOCOL_VERSION, 99, 1, fp], 'unknown_type')
  rejects([PROTOCOL_VERSION, 0, 1, fp], 'unknown_type')
  rejects([PROTOCOL_VERSION], 'malformed')
  rejects({ v: 1 }, 'malformed')
  rejects('digest', 'malformed')
})

test('wrong field types, arities and values are refused', () => {
  const v = PROTOCOL_VERSION
  const [PUSH, DIGEST, RANGES, SUMS, DELTAS, ACK, WANT, SCOPE] = [1, 2, 3, 4, 5, 6, 7, 8]
  const fp = new Uint8Array(HASH_BYTES)
  const fps = (n: number): Uint8Array => new Uint8Array(RANGE_FP_BYTES * n)
  const h8 = new Uint8Array(ACK_HASH_BYTES)
  const sid = 7 // session 3, from its initiator
  const cases: Array<[unknown, RegExp]> = [
    [[v, DIGEST], /takes 1 fields/],
    [[v, DIGEST, fp, fp, fp, fp], /takes 1 fields/],
    [[v, DIGEST, fp, fp, fp], /partial flag/],
    [[v, DIGEST, fp, null, false], /partial flag/],
    [[v, DIGEST, 5], /digest fingerprint/],
    [[v, DIGEST, new Uint8Array(15)], /digest fingerprint/],
    [[v, DIGEST, 'ffff'], /digest fingerprint/],
    [[v, DIGEST, fp, new Uint8Array(15)], /fingerprint \(was\)/],
    [[v, PUSH, [], [0, 'k', 1]], /delta items/],
    [[v, PUSH, ['or-set', 'g-counter'], [0, 'k', 2, 1]], /contract index/],
    [[v, PUSH, ['or-set', 'g-counter'], [0, 'k', -1, 1]], /contract index/],
    [[v, PUSH, ['or-set'], [0, '', 1]], /key/],
    [[v, PUSH, ['or-set'], [0, 'k'.repeat(1025), 1]], /key/],
    [[v, PUSH, ['or-set'], [0, 7, 1]], /front-coded key/],
    [[v, PUSH, ['or-set'], [1, 'k', 1]], /front-coded key/],
    [[v, PUSH, ['or-set'], [0, 'ab', 1, 3, 'c', 1]], /front-coded key/],
    [[v, PUSH, ['or-set'], [0, 'a\u{1F600}', 1, 2, 'x', 1]], /key/], // a prefix that splits a surrogate pair
    [[v, PUSH, ['or-set'], [0, 'k', 1, 5]], /delta items/],
    [[v, PUSH, ['bad id!'], []], /contract id/],
    [[v, PUSH, [['log', {}]], []], /contract params/],
    [[v, PUSH, [['log', [1]]], []], /contract params/],
    [[v, PUSH, { k: 1 }, []], /contract table/],
    [[v, RANGES, 'x', 0, [], [], []], /session id/],
    [[v, RANGES, -1, 0, [], [], []], /session id/],
    [[v, RANGES, sid, -2, [], [], []], /seq/],
    [[v, RANGES, sid, 0, [], []], /takes 5 fields/],
    [[v, RANGES, sid, 0, [[0, 'b', 0, 'a', [], [1], fps(1)]], [], []], /lo must sort before hi/],
    [[v, RANGES, sid, 0, [[0, 'a', 1, '', [], [1], fps(1)]], [], []], /lo must sort before hi/],
    [[v, RANGES, sid, 0, [[0, 'a', 3, 'b', [], [1], fps(1)]], [], []], /front-coded/],
    [[v, RANGES, sid, 0, [[0, 'a', 1, null, [], [1], fps(1)]], [], []], /range end/],
    [[v, RANGES, sid, 0, [[0, 'a', 0, null, [], [1], fp]], [], []], /range fingerprints/], // 16 bytes: sessions carry 4
    [[v, RANGES, sid, 0, [[0, 'a', 0, null, [], [1]]], [], []], /range fingerprints/],
    [[v, RANGES, sid, 0, [[0, 'a', 0, null, [0, 'c', 0, 'b'], [1, 1, 1], fps(3)]], [], []], /ascend/],
    [[v, RANGES, sid, 0, [[0, 'a', 0, 'c', [0, 'd'], [1, 1], fps(2)]], [], []], /ascend/],
    [[v, RANGES, sid, 0, [[0, 'a', 0, null, [0, 'b'], [1], fps(2)]], [], []], /range counts/],
    [[v, RANGES, sid, 0, [[0, 'a', 0, null, [0, 'b'], [1, 1], fps(1)]], [], []], /range fingerprints/],
    [[v, RANGES, sid, 0, [], [[0, 'a', 0, null, [0, 'c', 0, 'b'], new Uint8Array(16)]], []], /order/],
    [[v, RANGES, sid, 0, [], [[0, 'a', 0, null, [0, 'b', 1, ''], new Uint8Array(16)]], []], /order/],
    [[v, RANGES, sid, 0, [], [[0, 'c', 0, null, [0, 'b'], h8]], []], /order/],
    [[v, RANGES, sid, 0, [], [[0, 'a', 0, 'c', [0, 'd'], h8]], []], /order/],
    [[v, RANGES, sid, 0, [], [[0, '', 0, null, Array.from({ length: MAX_RANGE_ITEMS + 1 }, (_, i) => [0, `k${String(i).padStart(5, '0')}`]).flat(), new Uint8Array(8 * (MAX_RANGE_ITEMS + 1))]], []], /at most/],
    [[v, RANGES, sid, 0, [], [[0, '', 0, null, [0, 'b'], fp]], []], /item hashes/],
    [[v, RANGES, sid, 0, [], [], [[0, '', 0, null, ['or-set'], [0, 'b', 1, 0, 'a', 1]]]], /order/],
    [[v, RANGES, sid, 0, [], [], [[0, '', 0, null, ['or-set', 'log'], [0, 'b', 2, 1]]]], /contract index/],
    [[v, RANGES, sid, 0, [], [], [[0, '', 0, null]]], /range summary list/],
    [[v, SUMS, sid, 0, 'yes', [], [], []], /reply flag/],
    [[v, SUMS, sid, 0, true, ['or-set'], [0, 'k'], []], /summaries/],
    [[v, SUMS, sid, 0, true, [], [], [0]], /lacking keys/],
    [[v, SUMS, sid, 0, true, [], []], /takes 6 fields/],
    [[v, DELTAS, sid, 0, true, ['or-set']], /takes 5 fields/],
    [[v, DELTAS, sid, 0, 'no', [], []], /check flag/],
    [[v, ACK, sid, 0, [-1], new Uint8Array(0)], /spawned seq/],
    [[v, ACK, sid, 0, [], new Uint8Array(7)], /acked hashes/],
    [[v, ACK, sid, 0, [], [h8]], /acked hashes/],
    [[v, WANT, []], /at least one key/],
    [[v, WANT, [0, 'b', 0, 'a']], /ascending/],
    [[v, WANT, [0, 'a', 1, '']], /ascending/],
    [[v, WANT, [0, 'a'], 1], /takes 1 fields/],
    [[v, SCOPE], /takes 1 fields/],
    [[v, SCOPE, new Uint8Array(15)], /scope fingerprint/]
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
    const empty = encodeMessage({ type: 'deltas', sid: { n: 0xffffffff, fromInitiator: true }, seq: 0xffffffff, check: true, items: [] }).length + refsSize(items)
    const { parts, oversize } = chunk(items, entrySize.deltaItem, empty, max)
    for (const part of parts) {
      assert.ok(part.length > 0)
      const bytes = encodeMessage({ type: 'deltas', sid: { n: 2 ** 31, fromInitiator: false }, seq: 2 ** 31, check: false, items: part })
      assert.ok(bytes.length <= max, `${bytes.length} > ${max}`)
    }
    // Nothing is lost but the items that alone exceed the room, and order is kept.
    assert.deepEqual([...parts.flat(), ...oversize].length, items.length)
    assert.deepEqual(parts.flat(), items.filter(i => !oversize.includes(i)))
    for (const o of oversize) assert.ok(empty + entrySize.deltaItem(o) + 16 > max) // 16: the room chunk keeps for list headers
  }), { numRuns: 300 })
})

test('chunked summaries and ranges stay within the bound, and maxCount caps a part', () => {
  fc.assert(fc.property(fc.array(summary, { maxLength: 60 }), fc.integer({ min: 1024, max: 4096 }), fc.integer({ min: 1, max: 10 }), (sums, max, maxCount) => {
    const empty = encodeMessage({ type: 'sums', sid: { n: 0xffffffff, fromInitiator: true }, seq: 0xffffffff, reply: true, sums: [], lacking: [] }).length + refsSize(sums)
    const { parts } = chunk(sums, entrySize.summary, empty, max, maxCount)
    for (const part of parts) {
      assert.ok(part.length <= maxCount)
      assert.ok(encodeMessage({ type: 'sums', sid: { n: 1, fromInitiator: true }, seq: 1, reply: false, sums: part, lacking: [] }).length <= max)
    }
  }), { numRuns: 300 })
  fc.assert(fc.property(fc.array(rangeFp, { maxLength: 80 }), fc.integer({ min: 1024, max: 2048 }), (fps, max) => {
    const empty = encodeMessage({ type: 'ranges', sid: { n: 0xffffffff, fromInitiator: true }, seq: 0xffffffff, fps: [], items: [], sums: [] }).length
    for (const part of chunk(fps, entrySize.rangeFp, empty, max).parts) {
      assert.ok(encodeMessage({ type: 'ranges', sid: { n: 9, fromInitiator: true }, seq: 9, fps: part, items: [], sums: [] }).length <= max)
    }
  }), { numRuns: 200 })
  fc.assert(fc.property(fc.array(rangeItems, { maxLength: 40 }), fc.integer({ min: 1024, max: 2048 }), (items, max) => {
    const empty = encodeMessage({ type: 'ranges', sid: { n: 0xffffffff, fromInitiator: true }, seq: 0xffffffff, fps: [], items: [], sums: [] }).length
    for (const part of chunk(items, entrySize.rangeItems, empty, max).parts) {
      assert.ok(encodeMessage({ type: 'ranges', sid: { n: 9, fromInitiator: true }, seq: 9, fps: [], items: part, sums: [] }).length <= max)
    }
  }), { numRuns: 200 })
})

test('sessions carry a different quarter of each range fingerprint in each of four consecutive sessions', () => {
  const full = Uint8Array.from({ length: HASH_BYTES }, (_, i) => i)
  const offsets = [0, 1, 2, 3].map(n => fpOffset({ n: 1000 + n, fromInitiator: true }))
  assert.deepEqual([...offsets].sort((a, b) => a - b), [0, 4, 8, 12])
  for (const off of offsets) {
    const m = decodeMessage(encodeMessage({ type: 'ranges', sid: { n: off / 4, fromInitiator: true }, seq: 0, fps: [{ lo: '', hi: null, count: 1, fp: full }], items: [], sums: [] }))
    assert.ok(m.type === 'ranges' && m.fps[0].fp.length === RANGE_FP_BYTES)
    if (m.type === 'ranges') {
      assert.ok(matchesFp(full, m.fps[0].fp, off))
      assert.equal(matchesFp(full, m.fps[0].fp, (off + 4) % HASH_BYTES), false)
    }
  }
})
