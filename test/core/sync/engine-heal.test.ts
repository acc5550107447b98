// The engine across a partition heal: announcements and pulls (see core/sync/peer-table.ts).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { encode } from '../../../core/codec.ts'
import { decodeMessage } from '../../../core/sync/messages.ts'
import { type Envelope, Net } from './harness.ts'

test('after a heal, the first session across is announced and the peers still at the old state pull a catch-up', async t => {
  for (const seed of [41, 42, 43]) await healThenPull(t, seed)
})

async function healThenPull (t: { diagnostic: (s: string) => void }, seed: number): Promise<void> {
  const net = await Net.create(4, { seed })
  for (let i = 0; i < 300; i++) await net.write('p0', `k${String(i).padStart(3, '0')}`, 'or-set', 'add', [`base${i}`])
  await net.converge(3)
  // Two sides, {p0, p1} and {p2, p3}, each changing 150 keys while the other side hears nothing of it.
  const side = (p: string): number => Number(p.slice(1)) < 2 ? 0 : 1
  const split = { drop: (e: Envelope) => side(e.from) !== side(e.to) }
  for (let i = 0; i < 300; i += 2) await net.write('p0', `k${String(i).padStart(3, '0')}`, 'or-set', 'add', [`a${i}`])
  for (let i = 1; i < 300; i += 2) await net.write('p2', `k${String(i).padStart(3, '0')}`, 'or-set', 'add', [`b${i}`])
  await net.advance(10)
  await net.deliver(split)
  const before = await Promise.all(net.peers.map(async p => new Map(await Promise.all((await p.store.keys()).map(async k => [k, (await p.store.summary(k))?.summary] as const)))))
  const received = net.peers.map(p => p.engine.stats().bytesReceived)
  net.delivered.length = 0
  // The heal, in fine steps, so that sessions start one by one as their random times come.
  let ms = 0
  while (!(await net.converged()) && ms < 3000) { await net.advance(5); await net.deliver(); ms += 5 }
  assert.ok(await net.converged(), 'not converged within 3 periods')
  const pulls = net.delivered.filter(e => {
    const m = decodeMessage(e.bytes)
    return m.type === 'ranges' && m.seq === 0 && m.fps.length === 1 && m.fps[0].lo === '' && m.fps[0].hi === null
  })
  assert.ok(pulls.length >= 1, 'nobody pulled')
  let ideal = 0
  for (const summaries of before) {
    for (const [key, s] of summaries) {
      const d = await net.peers[0].store.deltaFor(key, s)
      if (d !== undefined) ideal += encode(d.delta).length
    }
  }
  const total = net.peers.reduce((n, p, i) => n + p.engine.stats().bytesReceived - received[i], 0)
  const sessions = net.peers.reduce((n, p) => n + p.engine.stats().sessionsStarted, 0)
  t.diagnostic(`seed ${seed}: converged in ${ms} ms; ${sessions} sessions, ${pulls.length} of them pulls; received ${total} bytes for ${ideal} of deltas lacked (${(total / ideal).toFixed(2)}×)`)
  assert.ok(total <= 2 * ideal, `received ${total} bytes for ${ideal} of deltas lacked`)
  assert.ok(sessions - pulls.length <= 2, `${sessions - pulls.length} full sessions where one settles the difference`)
}
