// Message type 9, `writes` (PROTOCOL.md §4): a push whose items carry [replica, firstSeq, lastSeq, writtenAtMs]
// or null. The round trip is in messages.test.ts's property; here every malformed write list is refused by name.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decode, encode } from '../../../core/codec.ts'
import { MESSAGE_TYPES, PROTOCOL_VERSION, ProtocolError, decodeMessage, encodeMessage } from '../../../core/sync/messages.ts'
import { MAX_LISTED_WRITES, writeIdsOf } from '../../../core/sync/write-ranges.ts'
import { PushQueue } from '../../../core/sync/push-queue.ts'

const WRITES = 9
const item = { key: 'k', contract: { id: 'g-counter' }, delta: [['r1', 2]] }
/** A writes message's wire form with `list` as its write list (one item, contract table of one). */
const wire = (list: unknown): unknown => {
  const w = decode(encodeMessage({ type: 'writes', items: [item], writes: [undefined] })) as unknown[]
  assert.deepEqual(w.slice(0, 2), [PROTOCOL_VERSION, WRITES])
  return [...w.slice(0, 4), list]
}

function refused (x: unknown, pattern: RegExp): void {
  let err: unknown
  try { decodeMessage(encode(x as never)) } catch (e) { err = e }
  assert.ok(err instanceof ProtocolError, `accepted ${JSON.stringify(x)}`)
  assert.match(err.message, pattern)
}

test('type 9 is `writes`; a writes message round-trips with and without ids per item', () => {
  assert.equal(MESSAGE_TYPES[WRITES - 1], 'writes')
  const m = { type: 'writes' as const, items: [item, { ...item, key: 'l' }], writes: [{ replica: 'abc+12', first: 3, last: 5, writtenAt: 1_700_000_000_000 }, undefined] }
  const bytes = encodeMessage(m)
  assert.deepEqual(decodeMessage(bytes), m)
  assert.deepEqual(decodeMessage(encodeMessage({ type: 'writes', items: [], writes: [] })), { type: 'writes', items: [], writes: [] })
})

test('every malformed write list is refused, naming what was wrong', () => {
  refused((wire([['r1', 1, 1, 0]]) as unknown[]).slice(0, 4), /takes 3 fields/)
  refused([...wire([['r1', 1, 1, 0]]) as unknown[], null], /takes 3 fields/)
  refused(wire('nope'), /write list is malformed/)
  refused(wire([]), /0 entries for 1 items/)
  refused(wire([null, null]), /2 entries for 1 items/)
  refused(wire([['r1', 1, 1]]), /null or \[replica, firstSeq, lastSeq, writtenAtMs\]/)
  refused(wire([['r1', 1, 1, 0, 0]]), /null or \[replica/)
  refused(wire([{ r: 1 }]), /null or \[replica/)
  refused(wire([['', 1, 1, 0]]), /replica id is malformed/)
  refused(wire([['has space', 1, 1, 0]]), /replica id is malformed/)
  refused(wire([['x'.repeat(256), 1, 1, 0]]), /replica id is malformed/)
  refused(wire([[7, 1, 1, 0]]), /replica id is malformed/)
  refused(wire([['r1', 0, 1, 0]]), /1 ≤ first ≤ last/)
  refused(wire([['r1', 3, 2, 0]]), /1 ≤ first ≤ last/)
  refused(wire([['r1', 1.5, 2, 0]]), /1 ≤ first ≤ last/)
  refused(wire([['r1', 1, 2 ** 53, 0]]), /1 ≤ first ≤ last/)
  refused(wire([['r1', 1, '2', 0]]), /1 ≤ first ≤ last/)
  refused(wire([['r1', 1, 1, -1]]), /whole milliseconds/)
  refused(wire([['r1', 1, 1, 0.5]]), /whole milliseconds/)
  refused(wire([['r1', 1, 1, null]]), /whole milliseconds/)
  // The longest replica id allowed (255 characters) is accepted.
  assert.equal(decodeMessage(encode(wire([['x'.repeat(255), 1, 1, 0]]) as never)).type, 'writes')
})

test('an item\'s ids list the newest MAX_LISTED_WRITES writes of its range, oldest first', () => {
  assert.deepEqual(writeIdsOf({ replica: 'r', first: 2, last: 4, writtenAt: 0 }), ['r/2', 'r/3', 'r/4'])
  const many = writeIdsOf({ replica: 'r', first: 1, last: 1_000_000, writtenAt: 0 })
  assert.equal(many.length, MAX_LISTED_WRITES)
  assert.equal(many[MAX_LISTED_WRITES - 1], 'r/1000000')
  assert.deepEqual(writeIdsOf(undefined), [])
})

test('the encoder refuses what the decoder would, and a push queue driven by a fractional clock (the simulator\'s) stamps whole milliseconds', () => {
  const item = { key: 'k', contract: { id: 'g-counter' }, delta: { a: 1 } }
  for (const bad of [{ replica: 'r1', first: 1, last: 1, writtenAt: 1.5 }, { replica: 'r1', first: 2, last: 1, writtenAt: 0 }, { replica: 'has space', first: 1, last: 1, writtenAt: 0 }]) {
    assert.throws(() => encodeMessage({ type: 'writes', items: [item], writes: [bad] }), ProtocolError, JSON.stringify(bad))
  }
  const q = new PushQueue(10, 50)
  q.add('k', null, 1_704_067_199_693.2551, 'r1/1')
  q.takeDue(1_704_067_200_000)
  const w = q.takenWrites().get('k')!
  assert.equal(w.writtenAt, 1_704_067_199_693)
  const bytes = encodeMessage({ type: 'writes', items: [item], writes: [w] })
  assert.deepEqual((decodeMessage(bytes) as { writes: unknown[] }).writes, [w])
})
