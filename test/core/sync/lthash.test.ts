import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import fc from 'fast-check'
import { HASH_BYTES, sameHash } from '../../../core/sync/key-index.ts'
import { LANES, LtHash, lanes } from '../../../core/sync/lthash.ts'

const hash = fc.uint8Array({ minLength: HASH_BYTES, maxLength: HASH_BYTES })

const of = (items: readonly Uint8Array[]): Uint8Array => {
  const h = new LtHash()
  for (const i of items) h.add(i)
  return h.digest()
}

test('the empty key space has the digest PROTOCOL.md §2 gives, and lanes are SHAKE256 of the domain and the item hash', () => {
  assert.equal(Buffer.from(new LtHash().digest()).toString('hex'), 'e5a00aa9991ac8a5ee3109844d84a555')
  const item = new Uint8Array(HASH_BYTES).fill(9)
  const raw = createHash('shake256', { outputLength: 2 * LANES }).update(Buffer.concat([Buffer.from('monoidb lthash16 v3\0'), item])).digest()
  const l = lanes(item)
  for (const i of [0, 1, 511, 1023]) assert.equal(l[i], raw.readUInt16LE(2 * i))
  // One item: the digest is sha256 of its lanes, little endian.
  assert.equal(Buffer.from(of([item])).toString('hex'), createHash('sha256').update(raw).digest('hex').slice(0, 32))
})

test('a multiset hash: order does not matter, removing undoes adding, replacing equals rebuilding', () => {
  fc.assert(fc.property(fc.array(hash, { maxLength: 12 }), fc.array(hash, { maxLength: 6 }), (items, extra) => {
    const h = new LtHash()
    for (const i of items) h.add(i)
    assert.ok(sameHash(h.digest(), of([...items].reverse())))
    for (const e of extra) h.add(e)
    for (const e of extra) h.remove(e)
    assert.ok(sameHash(h.digest(), of(items)))
    if (items.length > 0 && extra.length > 0) {
      h.replace(items[0], extra[0])
      assert.ok(sameHash(h.digest(), of([extra[0], ...items.slice(1)])))
    }
  }), { numRuns: 100 })
})

test('what XOR cannot tell apart, it does: an item twice is not the empty set, and a ⊕ b ⊕ (a ⊕ b) is not empty', () => {
  const a = new Uint8Array(HASH_BYTES).fill(1)
  const b = new Uint8Array(HASH_BYTES).fill(2)
  const ab = a.map((x, i) => x ^ b[i])
  const empty = new LtHash().digest()
  assert.ok(!sameHash(of([a, a]), empty))
  assert.ok(!sameHash(of([a, b, ab]), empty))
  assert.ok(!sameHash(of([a, b]), of([ab])))
})
