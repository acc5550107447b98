// The gossip gate (node/gossip-gate.ts): graylisted deliverers are ignored unread; digests and wants are
// limited per author (bursts of twice the rate), refilled with time; pushes are never limited.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DIGESTS_PER_SEC, GRAYLIST_THRESHOLD, GossipGate, WANTS_PER_SEC } from '../../node/gossip-gate.ts'
import { DIGEST_TOPIC, PUSH_TOPIC, WANT_TOPIC } from '../../core/sync/types.ts'

test('a deliverer below the graylist threshold is ignored unread, whatever the topic', () => {
  const scores: Record<string, number> = { bad: GRAYLIST_THRESHOLD - 1, edge: GRAYLIST_THRESHOLD }
  const gate = new GossipGate(p => scores[p] ?? 0)
  assert.equal(gate.check(PUSH_TOPIC, 'bad', 'author', 0), 'graylisted')
  assert.equal(gate.check(PUSH_TOPIC, 'edge', 'author', 0), 'pass')
  assert.equal(gate.check(PUSH_TOPIC, 'good', 'bad', 0), 'pass', 'only the deliverer\'s score counts: a forwarded message is judged by its content')
  assert.equal(gate.stats.gossipGraylisted, 1)
})

test('digests and wants: a burst of twice the rate per author, then over_rate until refilled; pushes unlimited', () => {
  const gate = new GossipGate(() => 0)
  for (const [topic, rate] of [[DIGEST_TOPIC, DIGESTS_PER_SEC], [WANT_TOPIC, WANTS_PER_SEC]] as const) {
    for (let i = 0; i < 2 * rate; i++) assert.equal(gate.check(topic, 'n', 'flooder', 1000), 'pass', `${topic} message ${i}`)
    assert.equal(gate.check(topic, 'n', 'flooder', 1000), 'over_rate')
    assert.equal(gate.check(topic, 'n', 'honest', 1000), 'pass', 'another author has its own bucket')
    assert.equal(gate.check(topic, 'n', 'flooder', 1000 + Math.ceil(1000 / rate)), 'pass', 'refilled at the rate')
    assert.equal(gate.check(topic, 'n', 'flooder', 1000 + Math.ceil(1000 / rate)), 'over_rate')
  }
  for (let i = 0; i < 10_000; i++) assert.equal(gate.check(PUSH_TOPIC, 'n', 'writer', 1000), 'pass')
  assert.equal(gate.stats.gossipOverRate, 4)
})

test('an honest peer\'s digests (one per period, a few more at joins) never go over the rate', () => {
  const gate = new GossipGate(() => 0)
  let t = 0
  for (let s = 0; s < 600; s++) {
    const extra = s % 60 === 0 ? 5 : 0 // five peers joining at once every minute
    for (let i = 0; i <= extra; i++) assert.equal(gate.check(DIGEST_TOPIC, 'n', 'honest', t), 'pass', `second ${s}`)
    t += 1000
  }
})
