// Event ids (node/change-counter.ts): the per-daemon counter, what it remembers for resuming, and parsing Last-Event-ID.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ChangeCounter, parseEventId } from '../../node/change-counter.ts'

test('ids are <epoch>:<n>, one counter for all keys; each start draws a new epoch', () => {
  const c = new ChangeCounter()
  assert.match(c.epoch, /^[0-9a-f]{16}$/)
  assert.notEqual(new ChangeCounter().epoch, c.epoch)
  const heard: Array<[string, number]> = []
  const stop = c.subscribe((k, n) => { heard.push([k, n]) })
  assert.equal(c.changed('a'), 1)
  assert.equal(c.changed('b'), 2)
  assert.equal(c.changed('a'), 3)
  stop()
  c.changed('c')
  assert.deepEqual(heard, [['a', 1], ['b', 2], ['a', 3]], 'listeners hear each change, until stopped')
  assert.equal(c.id(4), `${c.epoch}:4`)
  assert.equal(c.last, 4)
})

test('changedSince lists exactly the keys changed after n, each once, oldest change first', () => {
  const c = new ChangeCounter()
  for (const k of ['a', 'b', 'c', 'a', 'd', 'b']) c.changed(k)
  assert.deepEqual(c.changedSince(2), [['c', 3], ['a', 4], ['d', 5], ['b', 6]])
  assert.deepEqual(c.changedSince(5), [['b', 6]])
  assert.deepEqual(c.changedSince(6), [])
  assert.equal(c.lastChangeOf('a'), 4)
  assert.equal(c.lastChangeOf('zz'), undefined)
})

test('resuming is exact only within what is remembered: another epoch, a forgotten key or a future n is not resumable', () => {
  const c = new ChangeCounter({ limit: 2 })
  c.changed('a'); c.changed('b')
  assert.equal(c.resumable({ epoch: c.epoch, n: 0 }), true)
  c.changed('c') // forgets a (changed at 1): a client at 0 would not learn a changed
  assert.equal(c.floor, 1)
  assert.equal(c.resumable({ epoch: c.epoch, n: 0 }), false)
  assert.equal(c.resumable({ epoch: c.epoch, n: 1 }), true)
  assert.deepEqual(c.changedSince(1), [['b', 2], ['c', 3]])
  assert.equal(c.resumable({ epoch: 'ffff', n: 2 }), false, 'another run')
  assert.equal(c.resumable({ epoch: c.epoch, n: 4 }), false, 'an id this run never sent')
})

test('a Last-Event-ID that is not <epoch>:<n> is an Error naming it', () => {
  assert.equal(parseEventId(undefined), undefined)
  assert.deepEqual(parseEventId('00ff:12'), { epoch: '00ff', n: 12 })
  for (const bad of ['', '12', 'abc', 'abcd:', ':3', 'abcd:-1', 'abcd:01', 'ABCD:1', 'abcd:1:2', 'abcd:99999999999999999', 'g:1', 'a'.repeat(33) + ':1']) {
    const r = parseEventId(bad)
    assert.ok(r instanceof Error, `${JSON.stringify(bad)} refused`)
    assert.ok(r.message.includes(JSON.stringify(bad)), 'the message names it')
  }
})
