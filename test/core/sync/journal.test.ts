// The sync journal (core/sync/journal.ts): its bound, its queries, and following it.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEFAULT_JOURNAL_LIMIT, Journal, type JournalEntry } from '../../../core/sync/journal.ts'

const merged = (key: string, peer: string): JournalEntry => ({ kind: 'merged', key, peer, path: 'push', writes: [], changed: true, bytes: 10 })

test('it keeps the newest `limit` records, numbered from 1 for its life; first and last say which it holds', () => {
  assert.equal(new Journal().limit, DEFAULT_JOURNAL_LIMIT)
  assert.equal(DEFAULT_JOURNAL_LIMIT, 10_000)
  const j = new Journal(3)
  assert.deepEqual([j.first, j.last, j.query().length], [1, 0, 0])
  for (let i = 1; i <= 5; i++) j.record(merged(`k${i}`, 'p'), 1000 + i)
  assert.deepEqual([j.first, j.last], [3, 5])
  assert.deepEqual(j.query().map(r => [r.n, r.key, r.at]), [[3, 'k3', 1003], [4, 'k4', 1004], [5, 'k5', 1005]])
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new Journal(bad), /whole number/)
})

test('queries filter by key and peer, after a number, and keep the newest `limit`, oldest first', () => {
  const j = new Journal(100)
  j.record(merged('a', 'p1'), 1)
  j.record(merged('b', 'p1'), 2)
  j.record(merged('a', 'p2'), 3)
  j.record({ kind: 'session', key: '', peer: 'p2', keysReceived: 1, keysChanged: 1, keysSent: 0, bytesIn: 5, bytesOut: 6, ok: true }, 4)
  j.record(merged('a', 'p1'), 5)
  assert.deepEqual(j.query({ key: 'a' }).map(r => r.n), [1, 3, 5])
  assert.deepEqual(j.query({ peer: 'p2' }).map(r => r.n), [3, 4])
  assert.deepEqual(j.query({ key: 'a', peer: 'p1' }).map(r => r.n), [1, 5])
  assert.deepEqual(j.query({ after: 3 }).map(r => r.n), [4, 5])
  assert.deepEqual(j.query({ key: 'a', limit: 2 }).map(r => r.n), [3, 5], 'the newest two, oldest first')
  assert.deepEqual(j.query({ key: 'zzz' }), [])
  assert.deepEqual(j.query({ after: 99 }), [])
})

test('a follower gets every record from then on until it stops; a follower that throws harms neither the journal nor others', () => {
  const j = new Journal(10)
  j.record(merged('before', 'p'), 1)
  const seen: number[] = []
  const stop = j.subscribe(r => { seen.push(r.n) })
  j.subscribe(() => { throw new Error('a broken reader') })
  j.record(merged('x', 'p'), 2)
  j.record(merged('y', 'p'), 3)
  stop()
  j.record(merged('z', 'p'), 4)
  assert.deepEqual(seen, [2, 3])
  assert.equal(j.last, 4)
})
