import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Random } from '../../sim/random.ts'

const draw = (r: Random, n: number): number[] => Array.from({ length: n }, () => r.next())

test('the same seed gives the same stream; different seeds differ', () => {
  assert.deepEqual(draw(new Random(42), 100), draw(new Random(42), 100))
  assert.notDeepEqual(draw(new Random(42), 100), draw(new Random(43), 100))
})

test('next() stays in [0, 1) and int() in its closed range, over many seeds', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 50 }), (seed, lo, span) => {
    const r = new Random(seed)
    for (let i = 0; i < 50; i++) {
      const x = r.next()
      assert.ok(x >= 0 && x < 1)
      const n = r.int(lo, lo + span)
      assert.ok(Number.isInteger(n) && n >= lo && n <= lo + span)
    }
  }))
})

test('values are spread evenly enough (each tenth of [0,1) gets 8–12% of 100,000 draws)', () => {
  const r = new Random(7)
  const buckets = new Array<number>(10).fill(0)
  for (let i = 0; i < 100_000; i++) buckets[Math.floor(r.next() * 10)]++
  for (const b of buckets) assert.ok(b > 8000 && b < 12000, `bucket ${b}`)
})

test('a fork depends on the seed and label, not on how much the parent drew', () => {
  const a = new Random(5)
  const b = new Random(5)
  draw(b, 1000)
  assert.deepEqual(draw(a.fork('net'), 20), draw(b.fork('net'), 20))
  assert.notDeepEqual(draw(a.fork('net'), 20), draw(a.fork('workload'), 20))
})

test('shuffle keeps the elements; pick and int refuse empty ranges; bad seeds are refused', () => {
  const r = new Random(1)
  assert.deepEqual(r.shuffle([1, 2, 3, 4, 5]).sort(), [1, 2, 3, 4, 5])
  assert.throws(() => r.pick([]), RangeError)
  assert.throws(() => r.int(3, 2), RangeError)
  assert.throws(() => new Random(-1), RangeError)
  assert.throws(() => new Random(2 ** 32), RangeError)
  assert.throws(() => new Random(1.5), RangeError)
})
