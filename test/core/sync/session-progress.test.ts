// Session progress (core/sync/session-progress.ts): the counter's arithmetic, and a catch-up between two
// engines whose figures move message by message.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ProgressCounter } from '../../../core/sync/session-progress.ts'
import { Net } from './harness.ts'

test('the counter counts distinct keys: differing is the larger of named keys and the range gap, pending is what went neither way', () => {
  const p = new ProgressCounter(5)
  p.gap(10)
  p.gap(4) // a later request narrowing down ranges counted already: the largest figure stands
  p.gap(-3)
  p.differ(['a', 'b'])
  p.received(['a', 'a', 'c'])
  p.sent(['b', 'a'])
  const s = p.snapshot('peer', 'initiator', false)
  assert.deepEqual(s, { peer: 'peer', role: 'initiator', pull: false, startedAt: 5, keysDiffering: 10, keysReceived: 2, keysSent: 2, keysPending: 7, bytesIn: 0, bytesOut: 0, requestsIn: 0, requestsDue: 0 })
  p.received(Array.from({ length: 20 }, (_, i) => `k${i}`))
  const t = p.snapshot('peer', 'initiator', false)
  assert.equal(t.keysDiffering, 23, 'named keys (a, b, c and 20 more) pass the gap')
  assert.equal(t.keysReceived, 22)
  assert.equal(t.keysPending, 0)
})

test('a catch-up of 300 keys between two engines: the receiver\'s figures move message by message, and no session is left running', async () => {
  // Small messages, so the deltas take many.
  const net = await Net.create(2, { seed: 3, config: { maxMessageBytes: 1024 } })
  for (let i = 0; i < 300; i++) await net.write('p0', `key/${String(i).padStart(3, '0')}`, 'lww-register', 'set', ['x'.repeat(40)])
  const seen: Array<{ at: string, keysReceived: number, keysSent: number, keysDiffering: number, bytesIn: number }> = []
  for (let step = 0; step < 200 && !(await net.converged()); step++) {
    await net.advance(300)
    while (net.queue.length > 0) {
      await net.deliver({ drop: e => e.type === 'push' }, 1) // pushes lost: anti-entropy brings everything
      for (const p of net.peers) for (const s of p.engine.sessionsProgress()) seen.push({ at: p.id, ...s })
    }
  }
  assert.ok(await net.converged(), 'the peers did not converge')
  const receiving = seen.filter(s => s.at === 'p1' && s.keysReceived > 0)
  const counts = new Set(receiving.map(s => s.keysReceived))
  assert.ok(counts.size >= 3, `p1's keysReceived took ${[...counts].join(', ')}: it should move in steps`)
  assert.ok(receiving.some(s => s.keysReceived < 300 && s.bytesIn > 0), 'no snapshot mid-way')
  assert.ok(receiving.every(s => s.keysDiffering >= s.keysReceived), 'keys received past those known to differ')
  assert.ok(seen.some(s => s.at === 'p0' && s.keysSent > 0), 'p0 never reported sending')
  for (const p of net.peers) assert.deepEqual(p.engine.sessionsProgress(), [], `${p.id} still reports a running session`)
})
