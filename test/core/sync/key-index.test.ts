import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { HASH_BYTES, KeyIndex, itemHash, sameHash } from '../../../core/sync/key-index.ts'

const key = fc.string({ maxLength: 4 })
const hash = fc.uint8Array({ minLength: HASH_BYTES, maxLength: HASH_BYTES })
const op = fc.oneof(fc.tuple(fc.constant('set' as const), key, hash), fc.tuple(fc.constant('del' as const), key, hash))

function naive (m: Map<string, Uint8Array>, lo: string, hi?: string): { count: number, fp: Uint8Array, keys: string[] } {
  const keys = [...m.keys()].filter(k => k >= lo && (hi === undefined || k < hi)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const fp = new Uint8Array(HASH_BYTES)
  for (const k of keys) m.get(k)!.forEach((x, i) => { fp[i] ^= x })
  return { count: keys.length, fp, keys }
}

test('fingerprints, items and splits agree with a naive model under any sequence of changes', () => {
  fc.assert(fc.property(fc.array(op, { maxLength: 60 }), key, fc.option(key, { nil: undefined }), fc.integer({ min: 2, max: 16 }), (ops, lo, hi, parts) => {
    const index = new KeyIndex()
    const model = new Map<string, Uint8Array>()
    for (const [kind, k, h] of ops) {
      if (kind === 'set') { index.set(k, h); model.set(k, h) } else { index.delete(k); model.delete(k) }
      // Query between changes too, so lazily rebuilt state is exercised.
      assert.equal(index.fingerprint('').count, model.size)
    }
    const want = naive(model, lo, hi)
    const got = index.fingerprint(lo, hi)
    assert.equal(got.count, want.count)
    assert.ok(sameHash(got.fp, want.fp))
    assert.deepEqual(index.items(lo, hi).map(([k]) => k), want.keys)
    const cuts = index.split(lo, hi, parts)
    assert.ok(cuts.length <= parts - 1)
    // Boundaries are ascending keys inside (lo, hi) and the sub-ranges partition the range.
    let total = 0
    const bounds = [lo, ...cuts, hi]
    for (let i = 0; i + 1 < bounds.length; i++) {
      if (i > 0) assert.ok(bounds[i]! > bounds[i - 1]! && want.keys.includes(bounds[i]!))
      total += index.fingerprint(bounds[i]!, bounds[i + 1]).count
    }
    assert.equal(total, want.count)
  }), { numRuns: 1000 })
})

test('splits of a large range are near-equal', () => {
  const index = new KeyIndex()
  for (let i = 0; i < 10_000; i++) index.set(`k${String(i).padStart(5, '0')}`, itemHash(`k${i}`, { id: 'g-counter' }, [['a', i + 1]]))
  const cuts = index.split('', undefined, 16)
  assert.equal(cuts.length, 15)
  const counts = [['', cuts[0]], ...cuts.map((c, i) => [c, cuts[i + 1]])].map(([a, b]) => index.fingerprint(a!, b).count)
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, String(counts))
})

test('item hashes differ when the summary or the binding differs', () => {
  const a = itemHash('k', { id: 'or-set' }, [['alice', [1, 3]]])
  assert.ok(sameHash(a, itemHash('k', { id: 'or-set' }, [['alice', [1, 3]]])))
  assert.ok(!sameHash(a, itemHash('k', { id: 'or-set' }, [['alice', [1, 4]]])))
  assert.ok(!sameHash(a, itemHash('k', { id: 'g-set' }, [['alice', [1, 3]]])))
  assert.ok(!sameHash(a, itemHash('k2', { id: 'or-set' }, [['alice', [1, 3]]])))
  assert.ok(!sameHash(itemHash('k', { id: 'log' }, null), itemHash('k', { id: 'log', params: { keepLast: 2 } }, null)))
})
