// The salted fallback's message and answers (core/sync/salted.ts, PROTOCOL.md §6.5).
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import fc from 'fast-check'
import { encode } from '../../../core/codec.ts'
import { HASH_BYTES, KeyIndex } from '../../../core/sync/key-index.ts'
import { MAX_SALTED_KEYS, ProtocolError, SALTED_TYPE, decodeMessage, encodeMessage } from '../../../core/sync/messages.ts'
import { Plan } from '../../../core/sync/reconcile.ts'
import { answerSalted, saltedHash, saltedLists } from '../../../core/sync/salted.ts'

const salt = new Uint8Array(16).fill(5)
const h = (n: number): Uint8Array => new Uint8Array(HASH_BYTES).fill(n)

function refused (wire: unknown, pattern: RegExp): void {
  assert.throws(() => decodeMessage(encode(wire as never)), (e: unknown) => e instanceof ProtocolError && e.code === 'bad_field' && pattern.test(e.message), pattern.source)
}

test('a salted hash is the first 8 bytes of sha256(salt || item hash)', () => {
  const expected = createHash('sha256').update(Buffer.concat([salt, h(7)])).digest().subarray(0, 8)
  assert.deepEqual(Buffer.from(saltedHash(salt, h(7))), expected)
  assert.notDeepEqual(saltedHash(new Uint8Array(16), h(7)), saltedHash(salt, h(7)))
})

test('salted lists cover the whole key space, in ranges that fit a message and hold at most 1,024 keys', () => {
  const index = new KeyIndex()
  for (let i = 0; i < 3000; i++) index.set(`key/${String(i).padStart(4, '0')}`, h(i % 250))
  for (const maxBytes of [4096, 1024 * 1024]) {
    const { lists, next } = saltedLists(index, salt, maxBytes)
    assert.equal(next, null)
    assert.equal(lists[0].lo, '')
    assert.equal(lists[lists.length - 1].hi, null)
    for (let i = 1; i < lists.length; i++) assert.equal(lists[i].lo, lists[i - 1].hi)
    assert.equal(lists.reduce((n, l) => n + l.items.length, 0), 3000)
    for (const l of lists) {
      assert.ok(l.items.length <= 1024)
      const bytes = encodeMessage({ type: 'salted', sid: { n: 2 ** 31, fromInitiator: true }, seq: 2 ** 31, salt, lists: [l] })
      assert.ok(bytes.length <= maxBytes, `a list of ${l.items.length} keys is ${bytes.length} bytes, over ${maxBytes}`)
    }
  }
  // An empty key space is one empty list: "I hold nothing".
  assert.deepEqual(saltedLists(new KeyIndex(), salt, 4096), { lists: [{ lo: '', hi: null, items: [] }], next: null })
  // A session lists at most `maxKeys`: the next one resumes at the first key left out, and together they list every key once.
  const seen: string[] = []
  let from: string | null = ''
  let sessions = 0
  while (from !== null) {
    const part = saltedLists(index, salt, 1024 * 1024, from, 1000)
    assert.equal(part.lists[0].lo, from)
    assert.equal(part.lists[part.lists.length - 1].hi, part.next)
    seen.push(...part.lists.flatMap(l => l.items.map(i => i[0])))
    from = part.next
    sessions++
  }
  assert.equal(sessions, 3)
  assert.deepEqual(seen, index.items('').map(i => i[0]))
})

test('answering salted lists finds exactly the keys that differ, whatever the hashes', () => {
  fc.assert(fc.property(fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), fc.integer({ min: 0, max: 3 })), fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), fc.integer({ min: 0, max: 3 })), (mine, theirs) => {
    const [ours, peer] = [new KeyIndex(), new KeyIndex()]
    for (const [k, v] of Object.entries(mine)) ours.set(k, h(v))
    for (const [k, v] of Object.entries(theirs)) peer.set(k, h(v))
    const plan = new Plan()
    for (const r of saltedLists(peer, salt, 200).lists) answerSalted(ours, salt, r, plan)
    assert.deepEqual(plan.fullKeys.sort(), Object.keys(mine).filter(k => !(k in theirs)).sort())
    assert.deepEqual(plan.ask.map(a => a.key).sort(), Object.keys(theirs).filter(k => !(k in mine)).sort())
    assert.deepEqual(plan.askKeys.sort(), Object.keys(mine).filter(k => k in theirs && mine[k] !== theirs[k]).sort())
  }), { numRuns: 300 })
})

test('salted messages: type 12, round trip, and malformed forms refused by name', () => {
  const m = { type: 'salted' as const, sid: { n: 5, fromInitiator: true }, seq: 0, salt, lists: [{ lo: '', hi: 'k', items: [['a', new Uint8Array(8)]] as Array<[string, Uint8Array]> }, { lo: 'k', hi: null, items: [['k1', new Uint8Array(8).fill(1)]] as Array<[string, Uint8Array]> }] }
  const bytes = encodeMessage(m)
  assert.equal(bytes[2], SALTED_TYPE)
  assert.deepEqual(decodeMessage(bytes), m)
  // A list on the wire: bounds [0, lo, 0, hi] (nothing shared with the previous bound), keys front-coded from lo with nothing shared.
  const list = (lo: string, hi: string | null, keys: string[]): unknown[] => [0, lo, 0, hi, keys.flatMap(k => [0, k]), new Uint8Array(8 * keys.length)]
  refused([3, 12, 11, 0, new Uint8Array(15), []], /salt/)
  refused([3, 12, 11, 0, salt, [[0, '', 0, null, [0, 'a'], new Uint8Array(16)]]], /salted hashes/)
  // Overlapping lists, or a list after one that ends at the end: the receiver would walk its keys twice.
  refused([3, 12, 11, 0, salt, [list('', 'm', ['a']), [0, 'b', 0, null, [], new Uint8Array(0)]]], /without overlapping/)
  refused([3, 12, 11, 0, salt, [list('', null, []), [0, 'b', 0, 'c', [], new Uint8Array(0)]]], /without overlapping/)
  // More keys than a message may make its receiver hash.
  const many = Array.from({ length: 5 }, (_, i) => list(String(i), String(i + 1), Array.from({ length: 1000 }, (_, j) => `${i}/${String(j).padStart(4, '0')}`)))
  refused([3, 12, 11, 0, salt, many], new RegExp(`over ${MAX_SALTED_KEYS}`))
  assert.equal(decodeMessage(encode([3, 12, 11, 0, salt, many.slice(0, 4)])).type, 'salted')
})
