import assert from 'node:assert/strict'
import { test } from 'node:test'
import { KeyIndex, itemHash } from '../../../core/sync/key-index.ts'
import { ITEM_HASH_BYTES } from '../../../core/sync/messages.ts'
import { LIST_KEYS, Plan, answerFp, answerItems } from '../../../core/sync/reconcile.ts'
import { SummaryHistory } from '../../../core/sync/summary-history.ts'

const ref = { id: 'g-counter' }
function indexOf (entries: Array<[string, number]>): { index: KeyIndex, history: SummaryHistory } {
  const index = new KeyIndex()
  const history = new SummaryHistory()
  for (const [key, n] of entries) {
    const h = itemHash(key, ref, [['r', n]])
    index.set(key, h)
    history.remember(h, ref, [['r', n]])
  }
  return { index, history }
}

test('an item list is walked beside ours: whole states, lacking keys, known and unknown summaries', () => {
  const { index, history } = indexOf([['a', 1], ['b', 2], ['c', 3], ['d', 4]])
  history.remember(itemHash('c', ref, [['r', 1]]), ref, [['r', 1]]) // c was at 1 once
  const theirs = (key: string, n: number): [string, Uint8Array] => [key, itemHash(key, ref, [['r', n]]).subarray(0, ITEM_HASH_BYTES)]
  const plan = new Plan()
  answerItems(index, history, { lo: '', hi: null, items: [theirs('b', 2), theirs('c', 1), theirs('d', 9), theirs('e', 1)] }, plan)
  assert.deepEqual(plan.fullKeys, ['a'])
  assert.deepEqual(plan.since, [['c', [['r', 1]]]])
  assert.deepEqual(plan.askKeys, ['d'])
  assert.deepEqual(plan.ask, [{ key: 'e', contract: null, summary: null }])
})

test('an item list that shows no difference (8-byte prefixes collided) is answered with all our summaries', () => {
  const { index, history } = indexOf([['a', 1], ['b', 2]])
  const plan = new Plan()
  answerItems(index, history, { lo: '', hi: null, items: index.items('').map(([k, h]) => [k, h.subarray(0, ITEM_HASH_BYTES)]) }, plan)
  assert.deepEqual(plan.askKeys, ['a', 'b'])
})

test('a differing range is answered with our keys when few, else split', () => {
  const few = indexOf(Array.from({ length: LIST_KEYS }, (_, i) => [`k${String(i).padStart(2, '0')}`, 1] as [string, number]))
  const plan = new Plan()
  answerFp(few.index, few.history, { lo: '', hi: null, count: 3, fp: new Uint8Array(16) }, plan)
  assert.equal(plan.fps.length, 0)
  assert.equal(plan.items.length + plan.sumLists.length, 1)
  const many = indexOf(Array.from({ length: 400 }, (_, i) => [`k${String(i).padStart(3, '0')}`, 1] as [string, number]))
  const split = new Plan()
  answerFp(many.index, many.history, { lo: '', hi: null, count: 3, fp: new Uint8Array(16) }, split)
  assert.equal(split.fps.length, 16)
  assert.equal(split.fps.reduce((n, r) => n + r.count, 0), 400)
  const empty = new Plan()
  answerFp(many.index, many.history, { lo: 'k1', hi: 'k2', count: 0, fp: new Uint8Array(16) }, empty)
  assert.equal(empty.fullKeys.length, 100, 'the peer holds nothing there: everything goes')
})
