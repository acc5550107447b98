import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { type Dot, difference, dotCount, dotSetOf, dotsIn, hasDot, intersection, isSubset, maxSeq, nextDot, union, validateDotSet } from '../../core/dots.ts'
import { ContractError } from '../../core/errors.ts'

const dot: fc.Arbitrary<Dot> = fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 1, max: 40 }))
const dots = fc.array(dot, { maxLength: 40 })
const key = (d: Dot): string => `${d[0]}:${d[1]}`
const model = (ds: Dot[]): Set<string> => new Set(ds.map(key))
const asSet = (ds: ReturnType<typeof dotSetOf>): Set<string> => new Set([...dotsIn(ds)].map(key))

test('set operations agree with a plain Set model and stay canonical', () => {
  fc.assert(fc.property(dots, dots, (xs, ys) => {
    const a = dotSetOf(xs); const b = dotSetOf(ys)
    const ma = model(xs); const mb = model(ys)
    assert.deepEqual(asSet(union(a, b)), new Set([...ma, ...mb]))
    assert.deepEqual(asSet(difference(a, b)), new Set([...ma].filter(x => !mb.has(x))))
    assert.deepEqual(asSet(intersection(a, b)), new Set([...ma].filter(x => mb.has(x))))
    assert.equal(isSubset(a, b), [...ma].every(x => mb.has(x)))
    assert.equal(dotCount(a), ma.size)
    for (const ds of [union(a, b), difference(a, b), intersection(a, b)]) {
      validateDotSet(ds)
      assert.deepEqual(ds, dotSetOf([...dotsIn(ds)]), 'canonical form is unique')
    }
    for (const d of ys) assert.equal(hasDot(a, d[0], d[1]), ma.has(key(d)))
  }), { numRuns: 1000 })
})

test('contiguous history is one range per replica; nextDot is fresh', () => {
  const ds = dotSetOf([['a', 1], ['a', 2], ['a', 3], ['b', 5]])
  assert.deepEqual(ds, [['a', [1, 3]], ['b', [5, 5]]])
  assert.equal(maxSeq(ds, 'a'), 3)
  assert.deepEqual(nextDot(ds, 'b'), ['b', 6])
  assert.deepEqual(nextDot(ds, 'z'), ['z', 1])
})

test('validateDotSet rejects non-canonical or malformed sets with ContractError', () => {
  const bad: unknown[] = [
    {}, [['a']], [['a', []]], [['a', [1]]], [['a', [0, 1]]], [['a', [3, 2]]],
    [['a', [1, 2, 3, 4]]], [['a', [1, 2, 2, 4]]], [['b', [1, 1]], ['a', [1, 1]]], [['a', [1, 1]], ['a', [3, 3]]],
    [['__proto__', [1, 1]]], [['a b', [1, 1]]], [['a', [1.5, 2]]]
  ]
  for (const x of bad) assert.throws(() => validateDotSet(x), ContractError, JSON.stringify(x))
  assert.deepEqual(validateDotSet([['a', [1, 2, 4, 4]]]), [['a', [1, 2, 4, 4]]])
})
