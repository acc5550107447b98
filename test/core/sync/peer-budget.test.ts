// Per-peer limits (core/sync/peer-budget.ts, PROTOCOL.md §10): the buckets themselves, then the engine under
// the attack of issue 9 (whole-store `ranges` under fresh session ids, never acked), a peer leaving its answers
// unacked in one session, and honest peers, which are never refused.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ReplicaStore } from '../../../core/replica-store.ts'
import { MemoryStorage } from '../../../core/storage.ts'
import { SyncEngine } from '../../../core/sync/engine.ts'
import { type Message, encodeMessage } from '../../../core/sync/messages.ts'
import { type Misbehaviour, PeerBudgets, TokenBucket } from '../../../core/sync/peer-budget.ts'
import type { SyncAction, SyncConfig } from '../../../core/sync/types.ts'
import { createRegistry } from '../../../contracts/index.ts'
import { Net, START } from './harness.ts'

test('a token bucket refills at its rate up to its capacity, and may go into debt by a charge', () => {
  const b = new TokenBucket(10, 0.01, 0) // 10 tokens, 10 a second
  assert.equal(b.take(10, 0), true)
  assert.equal(b.take(1, 0), false, 'empty')
  assert.equal(b.level(50), 0.5)
  assert.equal(b.take(1, 100), true, 'one token after 100 ms')
  assert.equal(b.level(10_000), 10, 'never above capacity')
  b.charge(25, 10_000)
  assert.equal(b.level(10_000), -15, 'a charge goes into debt')
  assert.equal(b.level(11_500), 0, 'and is paid back at the rate')
  assert.equal(b.level(5_000), 0, 'time running backwards refills nothing')
})

test('PeerBudgets: sessions twice the per-period rate at once, then the rate; bytes per second; costs per peer', () => {
  const budgets = new PeerBudgets({ sessionsPerPeriod: 2, periodMs: 1000, bytesPerSec: 1000 })
  const opened = Array.from({ length: 6 }, () => budgets.openSession('evil', 0))
  assert.deepEqual(opened, [true, true, true, true, false, false])
  assert.equal(budgets.openSession('honest', 0), true, 'each peer has its own bucket')
  assert.equal(budgets.openSession('evil', 499), false)
  assert.equal(budgets.openSession('evil', 500), true, 'one more after half a period')
  assert.equal(budgets.allowance('evil', 0), 1000)
  budgets.charge('evil', 1500, 0)
  assert.equal(budgets.inDebt('evil', 0), true)
  assert.equal(budgets.inDebt('evil', 500), true, 'paid back to 0: nothing to spend yet')
  assert.equal(budgets.inDebt('evil', 600), false)
  assert.equal(budgets.inDebt('nobody', 0), false)
  budgets.count('evil', 'sessions', 0)
  budgets.count('evil', 'bad_message', 0)
  assert.deepEqual(budgets.costs(), { evil: { refused: { sessions: 1, bytes: 0, unacked: 0 }, badMessages: 1, bytesCharged: 1500 } })
})

const registry = createRegistry()
const VALUE = 'x'.repeat(2_000)

/** A lone engine holding `keys` or-set keys of ~2 KB each; `reports` collects what it says of misbehaving peers. */
async function victim (keys: number, config: Partial<SyncConfig>): Promise<{ engine: SyncEngine, reports: Array<[string, Misbehaviour]> }> {
  const store = await ReplicaStore.open({ storage: new MemoryStorage(), registry, replica: 'victim', clock: () => START })
  for (let i = 0; i < keys; i++) await store.update(`k${String(i).padStart(4, '0')}`, 'or-set', 'add', [`${i}${VALUE}`])
  const reports: Array<[string, Misbehaviour]> = []
  const engine = await SyncEngine.create(store, { self: 'victim', now: START, random: () => 0.5, config, onMisbehaviour: (p, w) => { reports.push([p, w]) } })
  return { engine, reports }
}

/** The 23-byte attack request: session `n`, "I hold nothing", the whole key space. */
function wholeStore (n: number, seq = 0): Uint8Array {
  return encodeMessage({ type: 'ranges', sid: { n, fromInitiator: true }, seq, fps: [{ lo: '', hi: null, count: 0, fp: new Uint8Array(4) }], items: [], sums: [] })
}

function bytesTo (peer: string, actions: readonly SyncAction[]): number {
  return actions.reduce((n, a) => n + (a.type === 'send' && a.to === peer ? a.bytes.length : 0), 0)
}

test('the issue 9 flood: fresh session ids, never acked, cost at most the per-peer byte rate, resends included', async t => {
  const rate = 64 * 1024
  const { engine, reports } = await victim(200, { peerBytesPerSec: rate, maxMessageBytes: 16 * 1024, peerUnackedBytes: 256 * 1024 })
  let sent = 0
  let now = START
  // 300 requests at once, then 150 a second for 5 s, ticking every 50 ms (resends are due every 250 ms).
  for (let i = 0; i < 300; i++) sent += bytesTo('evil', await engine.receive('evil', wholeStore(1000 + i), now))
  const burst = sent
  for (let step = 1; step <= 100; step++) {
    now = START + step * 50
    for (let j = 0; j < 7; j++) sent += bytesTo('evil', await engine.receive('evil', wholeStore(2000 + step * 10 + j), now))
    sent += bytesTo('evil', await engine.tick(now))
  }
  const s = engine.stats()
  t.diagnostic(`1,000 requests: ${burst} bytes for the first 300, ${sent} in all; ${s.requestsRefused} refused`)
  // The store is ~400 KB: unbounded, the first request alone would send it all, and every resend again.
  assert.ok(burst <= rate + 16 * 1024 + 1024, `the burst sent ${burst} bytes`)
  assert.ok(sent <= rate * 6 + 16 * 1024 + 1024, `5 s of flooding sent ${sent} bytes, over 5 s at ${rate} B/s plus a burst`)
  assert.ok(s.requestsRefused >= 900, `refused ${s.requestsRefused} of 1,000 requests`)
  assert.ok(s.answersCut > 0, 'answers were cut at the allowance')
  const cost = engine.peerCosts().evil
  assert.equal(cost.refused.sessions + cost.refused.bytes + cost.refused.unacked, s.requestsRefused)
  assert.equal(cost.bytesCharged, sent)
  assert.ok(reports.length === s.requestsRefused && reports.every(([p]) => p === 'evil'), 'each refusal is reported against the flooder')
})

test('a session never acked: its resends wait while the peer is in debt', async t => {
  const rate = 64 * 1024
  const { engine } = await victim(200, { peerBytesPerSec: rate, maxMessageBytes: 16 * 1024 })
  let sent = bytesTo('evil', await engine.receive('evil', wholeStore(5), START))
  for (let t = 50; t <= 4_900; t += 50) sent += bytesTo('evil', await engine.tick(START + t))
  const s = engine.stats()
  t.diagnostic(`5 s unacked: ${sent} bytes sent, ${s.retransmits} resends, ${s.resendsWaited} waited`)
  assert.ok(s.retransmits > 0, 'resent')
  assert.ok(s.resendsWaited > 0, 'resends waited for the budget')
  // Unbounded, every unacked message went again every 250 ms: 20 times the answer in 5 s.
  assert.ok(sent <= rate * 6 + 16 * 1024 + 1024, `5 s of resends sent ${sent} bytes, over 5 s at ${rate} B/s plus a burst`)
})

test('a refused peer is answered again once its bucket refills', async () => {
  const { engine } = await victim(100, { peerBytesPerSec: 64 * 1024, maxMessageBytes: 16 * 1024 })
  assert.ok(bytesTo('evil', await engine.receive('evil', wholeStore(1), START)) > 0)
  assert.equal(bytesTo('evil', await engine.receive('evil', wholeStore(2), START + 10)), 0, 'refused while in debt')
  assert.deepEqual(engine.peerCosts().evil.refused, { sessions: 0, bytes: 1, unacked: 0 })
  assert.ok(bytesTo('evil', await engine.receive('evil', wholeStore(3), START + 2_000)) > 0, 'answered after the refill')
})

test('one session\'s unacked answers are bounded: past peerUnackedBytes its requests wait', async () => {
  const { engine } = await victim(200, { peerBytesPerSec: 100 * 1024 * 1024, maxMessageBytes: 16 * 1024, peerUnackedBytes: 64 * 1024 })
  let sent = 0
  for (let seq = 0; seq < 50; seq++) sent += bytesTo('evil', await engine.receive('evil', wholeStore(7, seq), START + seq))
  assert.ok(sent <= 64 * 1024 + 16 * 1024 + 1024, `${sent} bytes held unacked`)
  assert.ok(engine.peerCosts().evil.refused.unacked > 0)
})

test('sessions opened past the per-period rate are refused, whatever they ask', async () => {
  const { engine, reports } = await victim(1, { peerSessionsPerPeriod: 3, antiEntropyMs: 1000 })
  // A `sums` asking for a key we lack costs almost nothing to answer: only the session count stops it.
  const ask = (n: number): Uint8Array => encodeMessage({ type: 'sums', sid: { n, fromInitiator: true }, seq: 0, reply: true, sums: [], lacking: ['nothing-here'] } satisfies Message)
  const answered = []
  for (let n = 0; n < 10; n++) answered.push(bytesTo('evil', await engine.receive('evil', ask(n), START)) > 0)
  assert.deepEqual(answered, [true, true, true, true, true, true, false, false, false, false])
  assert.deepEqual(reports.slice(-1), [['evil', 'sessions']])
  assert.ok(bytesTo('evil', await engine.receive('evil', ask(10), START + 400)) > 0, 'a third of a period later, one more')
})

test('honest peers are never refused: a full copy of ~400 KB to an empty peer, and anti-entropy under drops and duplicates', async () => {
  const net = await Net.create(3, { seed: 9 })
  for (let i = 0; i < 200; i++) await net.write('p0', `k${i}`, 'or-set', 'add', [`${i}${VALUE}`])
  await net.advance(60)
  await net.deliver({ drop: e => e.type === 'push' }) // p1 and p2 get nothing by push: sessions carry it all
  assert.ok(await net.converge(6) <= 6)
  for (let i = 0; i < 60; i++) await net.write(`p${i % 3}`, `c${i % 7}`, 'g-counter', 'inc', [1])
  await net.converge(20, { drop: e => net.random() < 0.2 && e.type !== 'digest', duplicate: 0.2 })
  for (const p of net.peers) {
    const s = p.engine.stats()
    assert.equal(s.requestsRefused, 0, `${p.id} refused ${s.requestsRefused} honest requests`)
    assert.deepEqual(p.engine.peerCosts(), {}, `${p.id} counted an honest peer`)
  }
})

test('a budget far below the data still converges: answers cut at the allowance are resumed by later sessions', async () => {
  const net = await Net.create(2, { seed: 4, config: { peerBytesPerSec: 32 * 1024, maxMessageBytes: 8 * 1024 } })
  for (let i = 0; i < 100; i++) await net.write('p0', `k${i}`, 'or-set', 'add', [`${i}${VALUE}`])
  await net.advance(60)
  await net.deliver({ drop: e => e.type === 'push' })
  const rounds = await net.converge(30)
  const s = net.peer('p0').engine.stats()
  assert.ok(s.answersCut > 0, 'the ~200 KB answer was cut')
  assert.ok(rounds >= 5, `converged in ${rounds} rounds: 200 KB at 32 KiB/s takes several`)
})

test('bytes that are not a message are counted against their sender and reported', async () => {
  const { engine, reports } = await victim(1, {})
  await engine.receive('noisy', new Uint8Array([0xff, 0x00, 0x13]), START)
  assert.equal(engine.stats().badMessages, 1)
  assert.equal(engine.peerCosts().noisy.badMessages, 1)
  assert.deepEqual(reports, [['noisy', 'bad_message']])
})

test('sync config: the per-peer limits must allow syncing', async () => {
  const store = await ReplicaStore.open({ storage: new MemoryStorage(), registry, replica: 'r', clock: () => START })
  await assert.rejects(SyncEngine.create(store, { self: 'a', now: START, config: { peerBytesPerSec: 0 } }), /peerBytesPerSec must be above 0/)
  await assert.rejects(SyncEngine.create(store, { self: 'a', now: START, config: { peerSessionsPerPeriod: 0 } }), /peerSessionsPerPeriod must be above 0/)
  await assert.rejects(SyncEngine.create(store, { self: 'a', now: START, config: { peerUnackedBytes: 1000 } }), /peerUnackedBytes \(1000\) must be at least maxMessageBytes/)
})
