import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { encode } from '../../../core/codec.ts'
import { HASH_BYTES, sameHash } from '../../../core/sync/key-index.ts'
import { PROTOCOL_VERSION, decodeMessage, encodeMessage } from '../../../core/sync/messages.ts'
import { DIGEST_TOPIC, PUSH_TOPIC } from '../../../core/sync/types.ts'
import { type Envelope, Net, type Peer, sameStates, stateBytes } from './harness.ts'
import { apply, opArb } from './workload.ts'

const onlyPushes = { drop: (e: Envelope) => e.type !== 'push' }
const noPushes = { drop: (e: Envelope) => e.type === 'push' }

/** The whole-key-space fingerprint a peer announces (read from the digest its engine publishes). */
function digestOf (p: Peer, now: number): { fp: Uint8Array } {
  const [action] = p.engine.subscribed('', now)
  const m = decodeMessage(action.bytes)
  assert.equal(m.type, 'digest')
  return m
}

/** Bytes `p` received (all types) between two stats snapshots. */
function received (p: Peer, before: ReturnType<Peer['engine']['stats']>): number {
  return p.engine.stats().bytesReceived - before.bytesReceived
}

test('pushes alone converge two and three peers, many deltas per message', async () => {
  for (const n of [2, 3]) {
    const net = await Net.create(n, { seed: n })
    for (let i = 0; i < 40; i++) await apply(net, { peer: i % n, contract: ['or-set', 'g-counter', 'lww-register', 'log'][i % 4], key: i % 7, value: i })
    await net.advance(10) // the push window passes
    const pushes = net.queue.filter(e => e.type === 'push')
    await net.deliver(onlyPushes)
    assert.ok(await net.converged(), `${n} peers did not converge by push`)
    for (const p of net.peers) {
      const s = p.engine.stats()
      // One push per contract written in the window: a peer lacking one contract must not hold back the others' items.
      assert.ok(s.perType.push.messagesSent <= 4, `${p.id} sent ${s.perType.push.messagesSent} pushes for one window of 4 contracts`)
      assert.equal(s.sessionsStarted, 0)
    }
    for (const e of pushes) {
      const m = decodeMessage(e.bytes)
      assert.ok(m.type === 'push' && m.items.length > 0 && new Set(m.items.map(i => i.contract.id)).size === 1, 'a push carries items of one contract')
    }
    assert.ok(pushes.some(e => { const m = decodeMessage(e.bytes); return m.type === 'push' && m.items.length > 1 }), 'many deltas per message')
  }
})

test('a peer that missed any number of pushes catches up by anti-entropy alone', async () => {
  await fc.assert(fc.asyncProperty(fc.array(opArb(3), { maxLength: 60, size: 'max' }), fc.integer({ min: 2, max: 3 }), fc.nat(1000), async (ops, n, seed) => {
    const net = await Net.create(n, { seed })
    for (const op of ops) await apply(net, { ...op, peer: op.peer % n })
    const rounds = await net.converge(4, noPushes)
    assert.ok(rounds <= 2, `took ${rounds} rounds`)
    for (const p of net.peers) assert.equal(p.engine.stats().perType.push.messagesReceived, 0)
  }), { numRuns: 15 })
})

test('divergent peers reconcile through digest → ranges → sums → deltas → ack in one round', async () => {
  const net = await Net.create(2, { seed: 7 })
  for (let i = 0; i < 300; i++) await net.write('p0', `k${i}`, 'or-set', 'add', [`a${i}`])
  await net.converge(3)
  // Both sides change keys the other lacks, including the same keys: neither is at a past state of the other.
  for (let i = 0; i < 300; i += 3) await net.write('p0', `k${i}`, 'or-set', 'add', [`b${i}`])
  for (let i = 0; i < 300; i += 5) await net.write('p1', `k${i}`, 'or-set', 'add', [`c${i}`])
  net.delivered.length = 0
  assert.equal(await net.converge(3, noPushes), 1)
  const types = new Set(net.delivered.map(e => e.type))
  for (const t of ['digest', 'ranges', 'sums', 'deltas', 'ack']) assert.ok(types.has(t as Envelope['type']), `no ${t} message`)
  const started = net.peers.reduce((a, p) => a + p.engine.stats().sessionsStarted, 0)
  const completed = net.peers.reduce((a, p) => a + p.engine.stats().sessionsCompleted, 0)
  assert.ok(completed >= 1 && completed <= started)
})

test('duplicated and reordered delivery changes nothing: states are byte-identical to the no-fault run', async () => {
  await fc.assert(fc.asyncProperty(fc.array(opArb(3), { minLength: 1, maxLength: 50, size: 'max' }), fc.nat(1000), async (ops, seed) => {
    const finals: Array<Map<string, string>> = []
    for (const faults of [{}, { duplicate: 0.5, reorder: true }]) {
      const net = await Net.create(3, { seed })
      for (const op of ops) await apply(net, op)
      await net.advance(10)
      await net.deliver(faults)
      await net.converge(6, faults)
      finals.push(await stateBytes(net.peers[0]))
    }
    assert.ok(sameStates(finals[0], finals[1]))
  }), { numRuns: 12 })
})

test('equal digests imply equal states, under any op history and partial, out-of-order sync', async () => {
  // Few keys and causal contracts, so one peer's successive writes to a key often reach the other with gaps:
  // that is when a summary (a causal context) could look complete for a state that is not.
  const op = fc.record({ peer: fc.nat(1), contract: fc.constantFrom('or-set', 'mv-register', 'log', 'g-counter'), key: fc.nat(1), value: fc.nat(20) })
  const step = fc.oneof(
    { weight: 3, arbitrary: op.map(o => ({ kind: 'op' as const, op: o })) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('push' as const), drop: fc.double({ min: 0, max: 1, noNaN: true }), reorder: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('round' as const), drop: fc.double({ min: 0, max: 0.5, noNaN: true }) }) }
  )
  await fc.assert(fc.asyncProperty(fc.array(step, { maxLength: 40, size: 'max' }), fc.nat(1000), async (steps, seed) => {
    const net = await Net.create(2, { seed })
    let equalSeen = 0
    const check = async (): Promise<void> => {
      const [a, b] = net.peers.map(p => digestOf(p, net.now))
      const same = sameHash(a.fp, b.fp)
      const states = sameStates(await stateBytes(net.peers[0]), await stateBytes(net.peers[1]))
      if (same) { equalSeen++; assert.ok(states, 'digests are equal but states differ') }
      if (states) assert.ok(same, 'states are equal but digests differ')
    }
    for (const s of steps) {
      if (s.kind === 'op') await apply(net, s.op)
      else if (s.kind === 'push') { await net.advance(10); await net.deliver({ drop: () => net.random() < s.drop, reorder: s.reorder }) }
      else await net.round({ drop: () => net.random() < s.drop })
      await check()
    }
    await net.converge(4)
    await check()
    assert.ok(equalSeen > 0)
  }), { numRuns: 60 })
})

test('an idle anti-entropy round costs at most 64 bytes per peer pair, at 1,000 and at 100,000 keys', async t => {
  for (const keys of [1_000, 100_000]) {
    const net = await Net.create(2, { seed: 3 })
    for (const p of net.peers) {
      for (let i = 0; i < keys; i += 10_000) {
        const batch = []
        // Keys in storage order, so the in-memory storage appends (the test is about the round, not the fill).
        for (let j = i; j < Math.min(keys, i + 10_000); j++) batch.push({ key: `key${String(j).padStart(6, '0')}`, contract: 'g-counter', delta: [['w', j + 1]], origin: 'seed' })
        await p.store.mergeRemoteMany(batch)
      }
    }
    const before = net.peers.map(p => p.engine.stats())
    await net.round()
    const sent = net.peers.map((p, i) => p.engine.stats().bytesSent - before[i].bytesSent)
    const perPair = sent[0] + sent[1]
    t.diagnostic(`${keys} keys: an idle round cost ${perPair} bytes for the pair (${sent.join(' + ')})`)
    assert.ok(perPair <= 64, `${perPair} bytes`)
    assert.deepEqual(net.delivered.map(e => e.type), ['digest', 'digest'])
    assert.equal((await net.peers[0].store.keys()).length, keys)
    assert.ok(sameHash(digestOf(net.peers[0], net.now).fp, digestOf(net.peers[1], net.now).fp))
  }
})

test('beliefs change only on acks: lost deltas are sent again until acked, and the next round still reconciles', async () => {
  const net = await Net.create(2, { seed: 11 })
  for (let i = 0; i < 50; i++) await net.write('p0', `k${i}`, 'g-counter', 'inc', [i + 1])
  for (let i = 0; i < 5; i++) await net.write('p1', `own${i}`, 'g-counter', 'inc', [1])
  // Two whole rounds (sessions start up to a period after the digests) in which every deltas message,
  // first sends and retransmissions, is lost.
  for (let r = 0; r < 2; r++) await net.round({ drop: e => e.type === 'push' || e.type === 'deltas' })
  assert.equal(await net.converged(), false)
  const [a, b] = net.peers.map(p => p.engine.stats())
  assert.ok(a.retransmits + b.retransmits > 0, 'nobody sent the lost deltas again')
  assert.equal(a.sessionsCompleted + b.sessionsCompleted, 0, 'a session counted as done without its acks')
  // Sending is not believing: the next round, with the link back, still reconciles everything.
  assert.equal(await net.converge(3, noPushes), 1)
})

test('pushes merge at once in any order: digests stay honest, a late push completes the state, a lost one is repaired by a round', async () => {
  const pushesOf = async (net: Net, values: number[]): Promise<Envelope[]> => {
    const out: Envelope[] = []
    for (const v of values) {
      await net.write('p0', 'reg', 'mv-register', 'set', [v])
      await net.advance(10)
      out.push(...net.queue.splice(0))
    }
    return out
  }
  const sameDigests = (net: Net): boolean => {
    const [x, y] = net.peers.map(p => digestOf(p, net.now))
    return sameHash(x.fp, y.fp)
  }
  for (const lost of [false, true]) {
    const net = await Net.create(2, { seed: lost ? 37 : 31 })
    const b = net.peers[1]
    const [p1, p2, p3] = await pushesOf(net, [19, 11, 27])
    // The third push arrives without the second: it is merged at once, nothing waits.
    for (const e of [p1, p3]) await b.engine.receive('p0', e.bytes, net.now)
    assert.equal(b.engine.stats().deltasReceived, 2)
    assert.equal(b.engine.stats().redundantDeltas, 0)
    const states = sameStates(await stateBytes(net.peers[0]), await stateBytes(b))
    assert.equal(sameDigests(net), states, 'digests and states disagree on whether the peers are in sync')
    if (!lost) {
      await b.engine.receive('p0', p2.bytes, net.now)
      assert.ok(await net.converged(), 'the late push did not complete the state')
      assert.ok(sameDigests(net))
    } else {
      assert.ok(!states, 'the second write cannot be known without its push')
      assert.equal(await net.converge(3, noPushes), 1)
    }
  }
})

test('bad bytes are counted in badMessages and change nothing', async () => {
  const net = await Net.create(2, { seed: 5 })
  await net.write('p0', 'k', 'or-set', 'add', ['x'])
  await net.advance(10)
  await net.deliver()
  const [, b] = net.peers
  const statesBefore = await stateBytes(b)
  const fp = new Uint8Array(HASH_BYTES)
  const garbage: Uint8Array[] = [
    new Uint8Array(0),
    Uint8Array.from([0xff, 0x00, 0x13]),
    encode([PROTOCOL_VERSION + 1, 'digest', 1, fp]),
    encode([PROTOCOL_VERSION, 'nonsense']),
    encode([PROTOCOL_VERSION, 'push', ['or-set'], [0, 'k', { e: [], c: [] }]]), // types are numbers
    encode([PROTOCOL_VERSION, 1, ['or-set', 'g-set'], [0, 'k', 5, { e: [], c: [] }]]),
    encode([PROTOCOL_VERSION, 5, 3, 0, true, ['or-set'], [0, 'k']]),
    new Uint8Array(2 * 1024 * 1024),
    Uint8Array.from([0xc2, 0x41, 0x01])
  ]
  for (const bytes of garbage) assert.deepEqual(await b.engine.receive('p0', bytes, net.now), [])
  assert.equal(b.engine.stats().badMessages, garbage.length)
  assert.ok(sameStates(statesBefore, await stateBytes(b)))
  // A well-formed push whose delta the contract refuses is not a bad message, but it is refused and changes nothing.
  await b.engine.receive('p0', encodeMessage({ type: 'push', items: [{ key: 'k', contract: { id: 'or-set' }, delta: 'not a state' }] }), net.now)
  assert.equal(b.engine.stats().rejectedDeltas, 1)
  assert.ok(sameStates(statesBefore, await stateBytes(b)))
})

test('a redundant delta is dropped before it reaches the store, and counted', async () => {
  const net = await Net.create(2, { seed: 9 })
  const first = await net.write('p0', 'k', 'or-set', 'add', ['x'])
  await net.write('p0', 'k', 'or-set', 'add', ['y'])
  await net.advance(10)
  assert.equal(net.queue.length, 1, 'two writes to a key in one window make one push')
  const [push] = net.queue
  const b = net.peers[1]
  await b.engine.receive('p0', push.bytes, net.now)
  const merges = b.store.stats().merges
  await b.engine.receive('p0', push.bytes, net.now) // the same push again (gossip duplicates)
  assert.equal(b.engine.stats().deltasReceived, 2)
  assert.equal(b.engine.stats().redundantDeltas, 1)
  assert.equal(b.store.stats().merges, merges)
  assert.equal(b.store.stats().redundantMerges, 0, 'the duplicate reached the store')
  // Different bytes with no news (the first add's own delta, which b holds already) reach the store, change nothing, and are counted.
  await b.engine.receive('p0', encodeMessage({ type: 'push', items: [{ key: 'k', contract: { id: 'or-set' }, delta: first! }] }), net.now)
  assert.equal(b.engine.stats().redundantDeltas, 2)
  assert.equal(b.store.stats().redundantMerges, 1)
})

test('a 1,000-key divergence is repaired in one session with bytes received close to the ideal', async t => {
  const cases = [
    { name: 'missed 1,000 updates', own: 0, assert: true },
    { name: 'missed 1,000 updates, holds 10 of its own', own: 10, assert: true },
    // Both sides changed the same keys: each needs the other's summary too, which tiny deltas cannot amortize.
    { name: 'both sides changed the same 1,000 keys (diagnostic only)', own: 1000, assert: false }
  ]
  for (const c of cases) {
    const net = await Net.create(2, { seed: 13 })
    const [a, b] = net.peers
    for (let i = 0; i < 2000; i++) await net.write('p0', `item/${i}`, 'or-set', 'add', [{ id: i, tag: 'base' }])
    await net.converge(3)
    for (let i = 0; i < 2000; i += 2) await net.write('p0', `item/${i}`, 'or-set', 'add', [{ id: i, tag: 'new' }])
    for (let i = 0; i < c.own; i++) await net.write('p1', `item/${c.own === 1000 ? i * 2 : i * 2 + 1}`, 'or-set', 'add', [{ id: i, tag: 'own' }])
    let ideal = 0
    for (const key of await a.store.keys()) {
      const d = await a.store.deltaFor(key, (await b.store.summary(key))?.summary)
      if (d !== undefined) ideal += encode(d.delta).length
    }
    const before = b.engine.stats()
    const completed = net.peers.map(p => p.engine.stats().sessionsCompleted)
    assert.equal(await net.converge(3, noPushes), 1)
    const ratio = received(b, before) / ideal
    t.diagnostic(`${c.name}: received ${received(b, before)} bytes, ideal ${ideal}, ratio ${ratio.toFixed(2)}, catch-ups ${b.engine.stats().catchUps + a.engine.stats().catchUps}`)
    if (!c.assert) continue
    assert.ok(ratio <= 2, `ratio ${ratio}`)
    assert.equal(net.peers.reduce((n, p, i) => n + p.engine.stats().sessionsCompleted - completed[i], 0), 1, 'more than one session')
    assert.ok(a.engine.stats().catchUps > 0, 'the peer ahead did not recognize the state it had been in')
  }
})

test('messages stay within maxMessageBytes; items too large for any message are counted, not sent', async () => {
  const net = await Net.create(2, { seed: 17, config: { maxMessageBytes: 2048 } })
  for (let i = 0; i < 120; i++) await net.write('p0', `k${String(i).padStart(3, '0')}`, 'or-set', 'add', ['x'.repeat(i * 3)])
  for (let i = 0; i < 40; i++) await net.write('p1', `k${String(i * 3).padStart(3, '0')}`, 'or-set', 'add', [`y${i}`])
  await net.write('p0', 'huge', 'or-set', 'add', ['z'.repeat(5000)])
  await net.advance(10)
  const pushes = net.queue.filter(e => e.from === 'p0')
  assert.ok(pushes.length > 1, 'pushes were not split')
  for (const e of pushes) assert.ok(e.bytes.length <= 2048, `push of ${e.bytes.length} bytes`)
  net.queue.length = 0
  await assert.rejects(net.converge(4, noPushes)) // 'huge' cannot travel, so the peers never fully agree
  for (const e of net.delivered) assert.ok(e.bytes.length <= 2048, `${e.type} of ${e.bytes.length} bytes`)
  assert.ok(net.delivered.filter(e => e.type === 'deltas').length > 1, 'deltas were not chunked')
  assert.ok(net.peers[0].engine.stats().oversizeItems >= 2) // once pushed, and again in a session
  const [sa, sb] = await Promise.all(net.peers.map(stateBytes))
  sa.delete('huge')
  assert.ok(sameStates(sa, sb), 'everything but the oversize key converged')
})

test('when both peers start a session at once, the smaller initiator id wins and the other is dropped', async () => {
  const net = await Net.create(2, { seed: 19 })
  for (let i = 0; i < 40; i++) await net.write('p0', `a${i}`, 'g-counter', 'inc', [1])
  for (let i = 0; i < 40; i++) await net.write('p1', `b${i}`, 'g-counter', 'inc', [1])
  net.queue.length = 0 // the pushes are lost
  net.post('p0', net.peers[0].engine.peerJoined('p1', net.now))
  net.post('p1', net.peers[1].engine.peerJoined('p0', net.now))
  await net.deliver()
  // Each waits a random part of a period before it starts; let both times pass before either hears of the other.
  net.now += 1000
  for (const p of net.peers) net.post(p.id, await p.engine.tick(net.now))
  await net.deliver()
  const [a, b] = net.peers.map(p => p.engine.stats())
  assert.equal(a.sessionsStarted, 1)
  assert.equal(b.sessionsStarted, 1)
  assert.equal(a.sessionsCompleted, 1)
  assert.equal(b.sessionsDropped, 1)
  assert.ok(await net.converged())
})

test('a session with no answer times out; nextWakeup says when', async () => {
  const net = await Net.create(2, { seed: 23, config: { sessionTimeoutMs: 3000, antiEntropyMs: 10_000 } })
  for (let i = 0; i < 40; i++) await net.write('p0', `a${i}`, 'g-counter', 'inc', [1])
  await net.write('p1', 'b', 'g-counter', 'inc', [1])
  net.queue.length = 0
  net.post('p1', net.peers[1].engine.peerJoined('p0', net.now))
  const noAnswer = { drop: (e: Envelope) => e.to === 'p0' && e.type !== 'digest' }
  await net.deliver(noAnswer)
  const a = net.peers[0].engine
  // p0 starts within a period (jittered), and says so; nothing reaches it afterwards.
  assert.equal(a.stats().sessionsStarted, 0)
  const deadline = net.now + 10_000
  while (a.stats().sessionsStarted === 0 && a.nextWakeup()! <= deadline) {
    net.now = a.nextWakeup()!
    net.post('p0', await a.tick(net.now))
    await net.deliver(noAnswer)
  }
  assert.equal(a.stats().sessionsStarted, 1)
  assert.ok(a.nextWakeup()! <= net.now + 3000)
  await a.tick(net.now + 2999)
  assert.equal(a.stats().sessionsTimedOut, 0)
  await a.tick(net.now + 3000)
  assert.equal(a.stats().sessionsTimedOut, 1)
})

test('pushes flush when their window passes; digests go out every period, jittered; peer events', async () => {
  const net = await Net.create(1, { seed: 29, config: { pushWindowMs: 25, antiEntropyMs: 1000 } })
  const p = net.peers[0]
  const r = await p.store.update('k', 'g-counter', 'inc', [1])
  assert.deepEqual(p.engine.localUpdate('k', r.contract, r.delta!, net.now), [])
  assert.ok(p.engine.nextWakeup()! <= net.now + 25)
  assert.deepEqual(await p.engine.tick(net.now + 24).then(a => a.filter(x => x.type === 'publish' && x.topic === PUSH_TOPIC)), [])
  const flushed = await p.engine.tick(net.now + 25)
  assert.equal(flushed.filter(x => x.type === 'publish' && x.topic === PUSH_TOPIC).length, 1)
  // Digests: one per period, each period within ±10% of antiEntropyMs.
  const times: number[] = []
  for (let now = net.now; now < net.now + 20_000; now = Math.max(now + 1, p.engine.nextWakeup()!)) {
    for (const a of await p.engine.tick(now)) if (a.type === 'publish' && a.topic === DIGEST_TOPIC) times.push(now)
  }
  const gaps = times.slice(1).map((t, i) => t - times[i])
  assert.ok(gaps.length >= 15)
  for (const g of gaps) assert.ok(g >= 900 && g <= 1100, `gap ${g}`)
  assert.ok(new Set(gaps).size > 1, 'no jitter')
  // A joining peer gets our digest directly; a subscription publishes it.
  const joined = p.engine.peerJoined('p9', net.now)
  assert.equal(joined.length, 1)
  assert.equal(joined[0].type === 'send' && joined[0].to, 'p9')
  assert.equal(decodeMessage(joined[0].bytes).type, 'digest')
  assert.equal(p.engine.subscribed('k', net.now)[0].type, 'publish')
  assert.deepEqual(p.engine.peerLeft('p9', net.now), [])
})

test('under drops, duplicates, reordering and partitions, three peers converge with nothing lost', async () => {
  await fc.assert(fc.asyncProperty(fc.array(fc.tuple(opArb(3), fc.nat(9)), { minLength: 1, maxLength: 60, size: 'max' }), fc.nat(1000), async (steps, seed) => {
    const net = await Net.create(3, { seed })
    let cut = new Set<string>()
    const faults = { drop: (e: Envelope) => cut.has(e.from) !== cut.has(e.to) || net.random() < 0.2, duplicate: 0.2, reorder: true }
    let increments = 0
    const added = new Set<string>()
    for (const [op, event] of steps) {
      if (await apply(net, op)) {
        if (op.contract === 'g-counter') increments += 1 + (op.value % 3)
        if (op.contract === 'g-set') added.add(`${op.key}:v${op.value}`)
      }
      if (event < 3) { await net.advance(100); await net.deliver(faults, 20) }
      if (event === 9) cut = new Set(net.random() < 0.5 ? [] : [`p${Math.floor(net.random() * 3)}`]) // isolate one peer, or heal
    }
    cut = new Set()
    await net.converge(8, faults)
    // Nothing lost: every increment and every added value is on every peer (they agree byte for byte).
    const p = net.peers[0]
    let total = 0
    for (let k = 0; k < 4; k++) total += ((await p.store.get(`g-counter/${k}`))?.value as number | undefined) ?? 0
    assert.equal(total, increments)
    for (const a of added) {
      const [k, v] = a.split(':')
      assert.ok(((await p.store.get(`g-set/${k}`))?.value as string[]).includes(v), `lost ${a}`)
    }
  }), { numRuns: 15 })
})
