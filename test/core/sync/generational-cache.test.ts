import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { GenerationalCache, bytesKey } from '../../../core/sync/generational-cache.ts'

test('holds at most `capacity` entries, and always the last capacity/2 written or read', () => {
  const op = fc.oneof(fc.tuple(fc.constant('set' as const), fc.nat(50), fc.nat()), fc.tuple(fc.constant('get' as const), fc.nat(50), fc.constant(0)))
  fc.assert(fc.property(fc.integer({ min: 2, max: 20 }), fc.array(op, { maxLength: 200, size: 'max' }), (capacity, ops) => {
    const cache = new GenerationalCache<number, number>(capacity)
    const model = new Map<number, number>()
    const recent: number[] = [] // keys by last use, most recent last
    const use = (k: number): void => { const i = recent.indexOf(k); if (i >= 0) recent.splice(i, 1); recent.push(k) }
    for (const [kind, k, v] of ops) {
      if (kind === 'set') { cache.set(k, v); model.set(k, v); use(k) } else {
        const got = cache.get(k)
        if (got !== undefined) { assert.equal(got, model.get(k)); use(k) }
      }
      assert.ok(cache.size <= capacity)
      // Whatever it still holds is the latest value; the most recently used half is all there.
      for (const key of recent.slice(-Math.floor(capacity / 2))) assert.equal(cache.has(key), true, `lost recent key ${key}`)
    }
  }), { numRuns: 300 })
})

test('bytesKey is injective on hashes of one length', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), (a, b) => {
    assert.equal(bytesKey(a) === bytesKey(b), Buffer.compare(a, b) === 0)
  }), { numRuns: 1000 })
  assert.notEqual(bytesKey(Uint8Array.of(1, 2, 3)), bytesKey(Uint8Array.of(1, 2)))
})
