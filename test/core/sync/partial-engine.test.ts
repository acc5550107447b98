// Partial replication in the engine, on a tiny lossless-but-for-wants network of two engines: a partial peer
// drops what it does not keep, and gets a key it wants even when every want is lost (its anti-entropy names it).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRegistry } from '../../../contracts/index.ts'
import { ReplicaStore } from '../../../core/replica-store.ts'
import { MemoryStorage } from '../../../core/storage.ts'
import { SyncEngine } from '../../../core/sync/engine.ts'
import { decodeMessage, encodeMessage } from '../../../core/sync/messages.ts'
import { type Interest, PUSH_TOPIC, type SyncAction } from '../../../core/sync/types.ts'
import { maxRegister } from '../../fixtures/max-register.ts'

class SetInterest implements Interest {
  readonly keys = new Set<string>()
  wants (key: string): boolean { return this.keys.has(key) }
  wanted (): Iterable<string> { return this.keys }
}

async function twoPeers (interest: Interest, partialRegistry = createRegistry()) {
  const registry = createRegistry()
  let now = 1_700_000_000_000
  const make = async (id: string, i?: Interest) => {
    const store = await ReplicaStore.open({ storage: new MemoryStorage(), registry: i === undefined ? registry : partialRegistry, replica: id, clock: () => now })
    return { id, store, engine: await SyncEngine.create(store, { self: id, now, config: { antiEntropyMs: 300 }, interest: i, random: () => 0.5 }) }
  }
  const full = await make('full')
  const partial = await make('partial', interest)
  const peers = [full, partial]
  const queue: Array<{ from: string, to: string, bytes: Uint8Array }> = []
  const net = { dropWants: false, wantsDropped: 0, dropPushesFrom: undefined as string | undefined }
  const post = (from: string, actions: SyncAction[]): void => {
    for (const a of actions) {
      if (a.type === 'send') queue.push({ from, to: a.to, bytes: a.bytes })
      else for (const p of peers) if (p.id !== from) queue.push({ from, to: p.id, bytes: a.bytes })
    }
  }
  const deliver = async (): Promise<void> => {
    for (let e = queue.shift(); e !== undefined; e = queue.shift()) {
      const type = decodeMessage(e.bytes).type
      if (net.dropWants && type === 'want') { net.wantsDropped++; continue }
      if (net.dropPushesFrom === e.from && type === 'push') continue
      const to = peers.find(p => p.id === e!.to)!
      post(to.id, await to.engine.receive(e.from, e.bytes, now))
    }
  }
  const run = async (ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += 50) {
      now += 50
      for (const p of peers) post(p.id, await p.engine.tick(now))
      await deliver()
    }
  }
  const write = async (peer: typeof full, key: string, n: number): Promise<void> => {
    const r = await peer.store.update(key, 'g-counter', 'inc', [n])
    post(peer.id, peer.engine.localUpdate(key, r.contract, r.delta!, now))
  }
  post('full', full.engine.peerJoined('partial', now))
  post('partial', partial.engine.peerJoined('full', now))
  return { full, partial, net, run, write, post, deliver, now: () => now }
}

test('a partial engine drops deltas of keys it does not keep, and keeps its own', async () => {
  const interest = new SetInterest()
  const { full, partial, run, write } = await twoPeers(interest)
  await write(full, 'theirs', 1)
  await write(partial, 'mine', 2)
  await run(2_000)
  assert.equal(await partial.store.get('theirs'), undefined)
  assert.ok(partial.engine.stats().notReplicated > 0)
  assert.equal((await full.store.get('mine'))?.value, 2, 'the full peer keeps what the partial peer wrote')
  assert.equal(partial.engine.keeps('theirs'), false)
  assert.equal(partial.engine.keeps('mine'), true)
  assert.equal(full.engine.keeps('anything'), true)
})

test('a wanted key reaches a partial engine by anti-entropy when every want is lost', async () => {
  const interest = new SetInterest()
  const { full, partial, net, run, write, post, deliver, now } = await twoPeers(interest)
  await write(full, 'x', 1)
  await run(1_000)
  assert.equal(await partial.store.get('x'), undefined)
  net.dropWants = true
  interest.keys.add('x')
  post('partial', partial.engine.subscribed('x', now()))
  await deliver()
  await run(2_000)
  assert.ok(net.wantsDropped > 0, 'wants were sent, and lost')
  assert.equal((await partial.store.get('x'))?.value, 1)
  assert.equal(full.engine.stats().wantsAnswered, 0, 'not by a want')
})

test('a want is answered with a push of the whole state, once per key however many ask at once', async () => {
  const interest = new SetInterest()
  const { full, partial, run, write, post, deliver, now } = await twoPeers(interest)
  await write(full, 'x', 3)
  await write(full, 'x', 4)
  await run(500)
  interest.keys.add('x')
  for (let i = 0; i < 5; i++) post('partial', partial.engine.want(['x'], now()))
  await deliver()
  assert.equal((await partial.store.get('x'))?.value, 7)
  assert.equal(full.engine.stats().wantsAnswered, 1)
  assert.deepEqual(partial.engine.want(['x'], now()), [], 'a held key is not wanted')
})

test('a want of many keys is split into messages every peer accepts', async () => {
  const interest = new SetInterest()
  const { partial, now } = await twoPeers(interest)
  const keys = Array.from({ length: 2_500 }, (_, i) => `wanted/${String(i).padStart(5, '0')}/${'x'.repeat(i % 300)}`)
  const actions = partial.engine.want(keys, now())
  assert.ok(actions.length >= 3)
  const seen: string[] = []
  for (const a of actions) {
    const msg = decodeMessage(a.bytes)
    assert.equal(msg.type, 'want')
    if (msg.type === 'want') seen.push(...msg.keys)
  }
  assert.deepEqual(seen.sort(), [...keys].sort())
})

test('a partial engine agreeing with its full neighbour sends no summaries while other keys churn; a difference on its keys brings one session', async () => {
  const { full, partial, net, run, write } = await twoPeers(new SetInterest())
  await write(partial, 'mine', 1)
  await run(2_000)
  assert.equal((await full.store.get('mine'))?.value, 1)
  const sumsBefore = partial.engine.stats().perType.sums.messagesSent
  for (let i = 0; i < 40; i++) { await write(full, `churn/${i}`, 1); await run(100) } // 4 s of writes the partial peer does not keep
  assert.equal(partial.engine.stats().perType.sums.messagesSent, sumsBefore, 'no summaries sent while the full peer agrees on our keys')
  assert.equal(partial.engine.stats().perType.scope.messagesReceived, 0)

  net.dropPushesFrom = 'partial' // the full peer misses our next write
  await write(partial, 'mine', 5)
  await run(2_000)
  assert.equal((await full.store.get('mine'))?.value, 6, 'repaired by a session after the full peer said it differs')
  assert.ok(partial.engine.stats().perType.scope.messagesReceived > 0)
  assert.ok(partial.engine.stats().perType.sums.messagesSent > sumsBefore)
})

test('a want from a neighbour is answered to it alone; one from farther away is published', async () => {
  const { full, write, run, now } = await twoPeers(new SetInterest())
  await write(full, 'x', 2)
  await run(200)
  const want = encodeMessage({ type: 'want', keys: ['x'] })
  const near = await full.engine.receive('partial', want, now())
  assert.deepEqual(near.map(a => a.type === 'send' ? `send ${a.to}` : `publish ${a.topic}`), ['send partial'])
  assert.equal(decodeMessage(near[0].bytes).type, 'push')
  const far = await full.engine.receive('far-away', want, now())
  assert.deepEqual(far.map(a => a.type === 'send' ? `send ${a.to}` : `publish ${a.topic}`), [`publish ${PUSH_TOPIC}`], 'another asker of the same key is answered too')
  assert.deepEqual(await full.engine.receive('partial', want, now()), [], 'the same asker again within the interval is not')
})

test('a key whose contract the full neighbour lacks does not keep the partial peer sending its summaries', async () => {
  const registry = createRegistry()
  registry.register(maxRegister)
  const { full, partial, run, write } = await twoPeers(new SetInterest(), registry)
  for (let i = 0; i < 20; i++) await write(partial, `mine/${i}`, 1)
  const r = await partial.store.update('odd', 'max-register', 'set', [5])
  partial.engine.localUpdate('odd', r.contract, r.delta!, 0)
  await run(3_000)
  assert.equal(full.engine.stats().unknownContracts.byId['max-register'] > 0, true, 'the full peer refused it')
  assert.equal((await full.store.get('mine/19'))?.value, 1)
  const before = partial.engine.stats()
  await run(10_000)
  const after = partial.engine.stats()
  assert.equal(after.sessionsStarted, before.sessionsStarted, 'no session while nothing else differs')
  assert.equal(after.perType.sums.bytesSent, before.perType.sums.bytesSent)
})

test('a change too large for a gossiped push reaches the other peer all the same, partial or full', async () => {
  const interest = new SetInterest()
  const { full, partial, run, post, now } = await twoPeers(interest)
  const big = (c: string): string => c.repeat(70_000)
  const add = async (peer: typeof full, key: string, value: string): Promise<void> => {
    const r = await peer.store.update(key, 'or-set', 'add', [value])
    post(peer.id, peer.engine.localUpdate(key, r.contract, r.delta!, now()))
  }
  // Written on the partial peer: not pushed; its anti-entropy with the full neighbour carries it.
  await add(partial, 'mine', big('p'))
  await run(3_000)
  assert.equal(partial.engine.stats().sessionOnlyItems, 1)
  assert.deepEqual((await full.store.get('mine'))?.value, [big('p')])
  // Written on the full peer and wanted by the partial one: the answer goes to it directly, whole.
  await add(full, 'theirs', big('f'))
  interest.keys.add('theirs')
  post('partial', partial.engine.want(['theirs'], now()))
  await run(3_000)
  assert.deepEqual((await partial.store.get('theirs'))?.value, [big('f')])
  assert.ok(partial.engine.stats().perType.push.bytesReceived > 70_000, 'in a push sent to it, past the gossip limit')
})
