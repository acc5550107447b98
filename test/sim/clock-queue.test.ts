import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ClockQueue } from '../../sim/clock-queue.ts'

test('events come out in time order, ties in the order they were scheduled, and the clock follows', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 200 }), times => {
    const q = new ClockQueue<number>()
    times.forEach((t, i) => { q.schedule(t, i) })
    const out: Array<[number, number]> = []
    for (let e = q.pop(); e !== undefined; e = q.pop()) {
      assert.equal(q.now, e.at)
      out.push([e.at, e.event])
    }
    const expected = times.map((t, i): [number, number] => [t, i]).sort((a, b) => a[0] - b[0] || a[1] - b[1])
    assert.deepEqual(out, expected)
  }))
})

test('an event scheduled in the past runs now; advanceTo moves the clock but not past a queued event', () => {
  const q = new ClockQueue<string>()
  q.schedule(10, 'a')
  q.pop()
  q.schedule(3, 'late')
  assert.equal(q.peekTime(), 10)
  assert.equal(q.pop()?.event, 'late')
  q.advanceTo(50)
  assert.equal(q.now, 50)
  q.schedule(60, 'b')
  assert.throws(() => { q.advanceTo(70) }, RangeError)
  assert.throws(() => { q.schedule(NaN, 'x') }, RangeError)
})
