import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { BUSY_UPDATES, PushQueue, QUIET_UPDATES } from '../../../core/sync/push-queue.ts'
import { resolveConfig } from '../../../core/sync/config.ts'

test('one item per key per window, with the base it had before its first unpushed change', () => {
  const q = new PushQueue(10)
  q.add('a', Uint8Array.of(1), 100)
  q.add('b', null, 105)
  q.add('a', Uint8Array.of(2), 106)
  assert.equal(q.due, 110)
  assert.equal(q.takeDue(109), undefined)
  assert.deepEqual(q.takeDue(110), new Map([['a', Uint8Array.of(1)], ['b', null]]))
  assert.equal(q.due, undefined)
  assert.equal(q.takeAll(), undefined)
})

test('the window doubles after busy windows up to its maximum, holds in between, and falls back after a quiet one', () => {
  fc.assert(fc.property(fc.array(fc.nat(3 * BUSY_UPDATES), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 8 }), (loads, base, factor) => {
    const max = base * factor
    const q = new PushQueue(base, max)
    let now = 0
    let expected = base
    for (const n of loads) {
      if (n === 0) continue
      assert.equal(q.windowMs, expected)
      for (let i = 0; i < n; i++) q.add(`k${i % 5}`, null, now)
      assert.equal(q.due, now + expected, 'a window opens at the first change and lasts the current length')
      now = q.due!
      assert.ok(q.takeDue(now) !== undefined)
      expected = n >= BUSY_UPDATES ? Math.min(max, expected * 2) : n < QUIET_UPDATES ? base : expected
      assert.ok(expected >= base && expected <= max)
    }
  }))
})

test('takeAll sends what waits before its window closes', () => {
  const q = new PushQueue(50)
  q.add('a', null, 0)
  assert.deepEqual(q.takeAll(), new Map([['a', null]]))
  assert.equal(q.due, undefined)
})

test('the maximum push window defaults to five times the window, and may not be below it', () => {
  assert.equal(resolveConfig(undefined).maxPushWindowMs, 50)
  assert.equal(resolveConfig({ pushWindowMs: 4 }).maxPushWindowMs, 20)
  assert.equal(resolveConfig({ pushWindowMs: 0 }).maxPushWindowMs, 0, 'push at once stays at once')
  assert.equal(resolveConfig({ pushWindowMs: 10, maxPushWindowMs: 10 }).maxPushWindowMs, 10)
  assert.throws(() => resolveConfig({ pushWindowMs: 10, maxPushWindowMs: 5 }), /maxPushWindowMs \(5\) must be at least pushWindowMs \(10\)/)
})
