// LatestChanges (node/latest-changes.ts) against a plain model, over random runs long enough to compact its log.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { LatestChanges } from '../../node/latest-changes.ts'

type Op = { op: 'set', key: number } | { op: 'shift' } | { op: 'since', back: number }

const ops = fc.array(fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('set' as const), key: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('shift' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('since' as const), back: fc.integer({ min: 0, max: 3000 }) }) }
), { maxLength: 4000 })

test('set, shift, get and since agree with a model (a map, oldest latest change first)', () => {
  fc.assert(fc.property(ops, (run: Op[]) => {
    const lc = new LatestChanges()
    const model = new Map<string, number>() // re-inserted on change: insertion order is change order
    let n = 0
    for (const o of run) {
      if (o.op === 'set') {
        const key = `k${o.key}`
        n++
        lc.set(key, n)
        model.delete(key)
        model.set(key, n)
      } else if (o.op === 'shift') {
        const first = model.entries().next()
        const expected = first.done === true ? undefined : first.value
        if (expected !== undefined) model.delete(expected[0])
        assert.deepEqual(lc.shift(), expected)
      } else {
        const after = n - o.back
        assert.deepEqual(lc.since(after), [...model].filter(([, m]) => m > after))
      }
      assert.equal(lc.size, model.size)
    }
    for (const [k, m] of model) assert.equal(lc.get(k), m)
  }), { numRuns: 60 })
})

test('many changes of few keys keep it small and correct (the log compacts)', () => {
  const lc = new LatestChanges()
  for (let n = 1; n <= 200_000; n++) lc.set(`k${n % 3}`, n)
  assert.equal(lc.size, 3)
  assert.deepEqual(lc.since(0), [['k1', 199_999], ['k2', 200_000], ['k0', 199_998]].sort((a, b) => (a[1] as number) - (b[1] as number)))
  assert.deepEqual(lc.shift(), ['k0', 199_998])
})
