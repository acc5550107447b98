import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ClockSkewTracker } from '../../../core/sync/clock-skew.ts'

const T = 1_700_000_000_000

test('the estimate is the greatest stamp − now among recent samples: relayed old data does not hide a fast clock', () => {
  const t = new ClockSkewTracker({ windowMs: 60_000 })
  t.observe('fast', T + 120_000, T)
  t.observe('fast', T - 3_600_000, T + 10) // an old write it relayed
  t.observe('slow', T - 5_000, T)
  assert.deepEqual(t.estimates(T + 20), [
    { peer: 'fast', aheadMs: 120_000, samples: 2, lastAt: T + 10 },
    { peer: 'slow', aheadMs: -5_000, samples: 1, lastAt: T }
  ])
})

test('samples expire: a clock that was fixed stops being reported within two windows', () => {
  const t = new ClockSkewTracker({ windowMs: 60_000 })
  t.observe('p', T + 120_000, T)
  t.observe('p', T + 61_000, T + 61_000) // a new window; the old one still counts
  assert.equal(t.estimates(T + 61_000)[0].aheadMs, 120_000)
  t.observe('p', T + 125_000, T + 125_000) // two windows on: the first sample is gone
  assert.deepEqual(t.estimates(T + 125_000).map(e => [e.aheadMs, e.samples]), [[0, 2]])
  assert.deepEqual(t.estimates(T + 400_000), [], 'no sample for two windows: no estimate')
})

test('at most maxPeers peers are tracked; the one heard from least recently makes room', () => {
  const t = new ClockSkewTracker({ maxPeers: 2 })
  t.observe('a', T, T)
  t.observe('b', T, T)
  t.observe('a', T + 1, T + 1)
  t.observe('c', T, T + 2)
  assert.deepEqual(t.estimates(T + 3).map(e => e.peer).sort(), ['a', 'c'])
  t.forget('a')
  assert.deepEqual(t.estimates(T + 3).map(e => e.peer), ['c'])
})

test('non-finite stamps are ignored and bad options refused', () => {
  const t = new ClockSkewTracker()
  t.observe('p', Number.NaN, T)
  t.observe('p', T, Infinity)
  assert.deepEqual(t.estimates(T), [])
  assert.throws(() => new ClockSkewTracker({ windowMs: 0 }), TypeError)
  assert.throws(() => new ClockSkewTracker({ maxPeers: 0 }), TypeError)
})
