import assert from 'node:assert/strict'
import { it } from 'node:test'
import fc from 'fast-check'
import { LruCache } from '../../core/lru-cache.ts'

it('keeps the most recently used entries, up to its capacity (model)', () => {
  fc.assert(fc.property(fc.nat({ max: 4 }), fc.array(fc.tuple(fc.boolean(), fc.nat({ max: 6 })), { maxLength: 40 }), (capacity, ops) => {
    const cache = new LruCache<number, number>(capacity)
    let model: number[] = [] // keys, least recent first
    for (const [isSet, k] of ops) {
      if (isSet) {
        cache.set(k, k * 10)
        model = [...model.filter(x => x !== k), k]
        if (model.length > capacity) model.shift()
      } else {
        const hit = model.includes(k)
        assert.equal(cache.get(k), hit ? k * 10 : undefined)
        if (hit) model = [...model.filter(x => x !== k), k]
      }
      assert.equal(cache.size, model.length)
    }
  }))
})
