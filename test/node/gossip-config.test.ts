// How monoidb configures gossipsub: the fast message id and the topic check.
import { test } from 'node:test'
import type { PushVerdict } from '../../core/sync/push-check.ts'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { type DeltaItem, MAX_GOSSIP_PUSH_BYTES, encodeMessage } from '../../core/sync/messages.ts'
import { DIGEST_TOPIC, PUSH_TOPIC, WANT_TOPIC, WRITES_TOPIC } from '../../core/sync/types.ts'
import { MAX_GOSSIP_DIGEST_BYTES, SYNC_TOPICS, checkGossip, fastMessageId, gossipOptions } from '../../node/gossip-config.ts'
import { encode } from '../../core/codec.ts'

test('the fast message id is author + sequence number: equal exactly when both are', () => {
  const bytes = fc.uint8Array({ minLength: 1, maxLength: 40 })
  fc.assert(fc.property(bytes, bytes, bytes, bytes, fc.uint8Array(), fc.uint8Array(), (f1, s1, f2, s2, d1, d2) => {
    const same = Buffer.compare(f1, f2) === 0 && Buffer.compare(s1, s2) === 0
    assert.equal(fastMessageId({ from: f1, seqno: s1, data: d1 } as never) === fastMessageId({ from: f2, seqno: s2, data: d2 } as never), same)
  }))
  assert.equal(fastMessageId({ seqno: Uint8Array.of(1) }), '', 'unsigned messages are refused before they could be remembered')
  assert.equal(gossipOptions().fastMsgIdFn, fastMessageId)
})

test('each topic accepts only its message type; garbage is rejected and handed on to be counted', () => {
  assert.deepEqual([...SYNC_TOPICS], [PUSH_TOPIC, DIGEST_TOPIC, WANT_TOPIC, WRITES_TOPIC])
  const writes = encodeMessage({ type: 'writes', items: [], writes: [] })
  assert.deepEqual(checkGossip(WRITES_TOPIC, writes), { result: TopicValidatorResult.Accept, garbage: false })
  assert.deepEqual(checkGossip(WRITES_TOPIC, encodeMessage({ type: 'push', items: [] })), { result: TopicValidatorResult.Reject, garbage: false }, 'a type-1 push on the writes topic')
  assert.deepEqual(checkGossip(PUSH_TOPIC, writes), { result: TopicValidatorResult.Reject, garbage: false }, 'a writes push on the push topic (old peers would be sent a type they do not know)')
  const push = encodeMessage({ type: 'push', items: [] })
  const digest = encodeMessage({ type: 'digest', fp: new Uint8Array(16) })
  const want = encodeMessage({ type: 'want', keys: ['k'] })
  assert.deepEqual(checkGossip(PUSH_TOPIC, push), { result: TopicValidatorResult.Accept, garbage: false })
  assert.deepEqual(checkGossip(DIGEST_TOPIC, digest), { result: TopicValidatorResult.Accept, garbage: false })
  assert.deepEqual(checkGossip(WANT_TOPIC, want), { result: TopicValidatorResult.Accept, garbage: false })
  assert.deepEqual(checkGossip(WANT_TOPIC, push), { result: TopicValidatorResult.Reject, garbage: false })
  assert.deepEqual(checkGossip(PUSH_TOPIC, want), { result: TopicValidatorResult.Reject, garbage: false })
  assert.deepEqual(checkGossip(WANT_TOPIC, Uint8Array.of(0xff)), { result: TopicValidatorResult.Reject, garbage: true })
})

test('a push is rejected when checkPush refuses an item, and ignored unread past MAX_GOSSIP_PUSH_BYTES', () => {
  const item = (delta: number) => ({ key: 'k', contract: { id: 'g-counter' }, delta: [['r1', delta]] })
  const good = encodeMessage({ type: 'push', items: [item(1)] })
  const bad = encodeMessage({ type: 'push', items: [item(0)] })
  const seen: number[] = []
  const check = (items: readonly DeltaItem[]): PushVerdict => {
    seen.push(items.length)
    return JSON.stringify(items[0].delta).includes(',0]') ? { invalid: 'count 0', key: items[0].key } : {}
  }
  assert.deepEqual(checkGossip(PUSH_TOPIC, good, check), { result: TopicValidatorResult.Accept, garbage: false })
  assert.deepEqual(checkGossip(PUSH_TOPIC, bad, check), { result: TopicValidatorResult.Reject, garbage: false, why: 'invalid', refused: { key: 'k', message: 'count 0' } })
  assert.deepEqual(checkGossip(PUSH_TOPIC, bad), { result: TopicValidatorResult.Accept, garbage: false }, 'without a check, as before')
  // A change to an owned key no writer signed keeps its reason, so the journal names it unauthorized_write.
  assert.deepEqual(checkGossip(PUSH_TOPIC, bad, () => ({ invalid: 'not signed', key: 'k', reason: 'unauthorized_write' })), { result: TopicValidatorResult.Reject, garbage: false, why: 'invalid', refused: { key: 'k', message: 'not signed', reason: 'unauthorized_write' } })
  // A writes push (type 9) is checked like a push.
  const badWrites = encodeMessage({ type: 'writes', items: [item(0)], writes: [{ replica: 'r1', first: 1, last: 1, writtenAt: 5 }] })
  assert.deepEqual(checkGossip(WRITES_TOPIC, badWrites, check), { result: TopicValidatorResult.Reject, garbage: false, why: 'invalid', refused: { key: 'k', message: 'count 0' } })
  const largeWrites = encodeMessage({ type: 'writes', items: [{ key: 'k', contract: { id: 'lww-register' }, delta: 'x'.repeat(MAX_GOSSIP_PUSH_BYTES) }], writes: [undefined] })
  assert.deepEqual(checkGossip(WRITES_TOPIC, largeWrites, check), { result: TopicValidatorResult.Ignore, garbage: false, why: 'large' })
  const large = encodeMessage({ type: 'push', items: [{ key: 'k', contract: { id: 'lww-register' }, delta: 'x'.repeat(MAX_GOSSIP_PUSH_BYTES) }] })
  assert.deepEqual(checkGossip(PUSH_TOPIC, large, check), { result: TopicValidatorResult.Ignore, garbage: false, why: 'large' })
  assert.deepEqual(seen, [1, 1, 1], 'the large pushes were not even decoded')
  const digest = encodeMessage({ type: 'digest', fp: new Uint8Array(16) })
  assert.deepEqual(checkGossip(DIGEST_TOPIC, digest, () => ({ invalid: 'never asked' })), { result: TopicValidatorResult.Accept, garbage: false })
  // A push this peer cannot fully judge: ignored (no penalty, not forwarded), flagged for our own engine.
  assert.deepEqual(checkGossip(PUSH_TOPIC, good, () => ({ unjudged: 'contract "foo" is not here' })), { result: TopicValidatorResult.Ignore, garbage: false, why: 'unjudged' })
  assert.deepEqual(checkGossip(PUSH_TOPIC, good, () => ({ invalid: 'x', unjudged: 'y' })).why, 'invalid')
})

test('a "digest" larger than any digest is rejected unread, at once; the largest real digest is accepted', () => {
  const largest = encodeMessage({ type: 'digest', fp: new Uint8Array(16).fill(1), was: new Uint8Array(16).fill(2), partial: true })
  assert.ok(largest.length <= MAX_GOSSIP_DIGEST_BYTES)
  assert.deepEqual(checkGossip(DIGEST_TOPIC, largest), { result: TopicValidatorResult.Accept, garbage: false })
  // [version, 2, 1,000 maps of 120 keys]: ~570 KB that the decoder walked, built and re-encoded for 350 ms before refusing.
  const maps = Array.from({ length: 1000 }, () => Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`k${i}`, 1])))
  const head = encodeMessage({ type: 'digest', fp: new Uint8Array(16) })
  const body = encode(maps)
  const bomb = new Uint8Array(head.length - 17 + body.length)
  bomb.set(head.subarray(0, head.length - 17)) // the array header, the version and the type
  bomb[0] = 0x83
  bomb.set(body, head.length - 17)
  let best = Infinity
  for (let i = 0; i < 3; i++) {
    const t = performance.now()
    assert.deepEqual(checkGossip(DIGEST_TOPIC, bomb), { result: TopicValidatorResult.Reject, garbage: false }, 'rejected, and not handed on (the engine would decode it)')
    best = Math.min(best, performance.now() - t)
  }
  assert.ok(best < 5, `refusing it took ${best.toFixed(1)} ms`)
})
