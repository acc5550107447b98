// Partial replication over real libp2p: a node keeps the keys written, fetched or watched here, and no others.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import type { Change } from '../../core/subscription.ts'
import type { MonoidbNode } from '../../node/node.ts'
import { allHold, hasSubscribedPeer, nodeFixtures, until } from '../helpers/node-fixtures.ts'

const fx = await nodeFixtures('partial')
after(fx.cleanup)

/** Waits until both nodes are connected and know each other subscribe to the sync topics. */
async function linked (a: MonoidbNode, b: MonoidbNode): Promise<void> {
  await until('the nodes to connect and subscribe', () => hasSubscribedPeer(a, b) && hasSubscribedPeer(b, a))
}

/** Waits until `node` has dropped more than `before` deltas of keys it does not keep. */
async function dropped (node: MonoidbNode, before: number): Promise<void> {
  await until('a delta to be dropped as not replicated', () => node.stats().sync.notReplicated > before)
}

test('a partial node keeps only what it fetches, and keeps a fetched key up to date', { timeout: 15_000 }, async () => {
  const a = await fx.start({})
  const b = await fx.start({ bootstrap: a.multiaddrs() })
  await linked(a, b)
  await a.update('k1', 'lww-register', 'set', ['one'])
  await a.update('k2', 'lww-register', 'set', ['two'])
  await dropped(b, 0)
  assert.equal(await b.get('k1'), undefined)
  assert.equal(await b.get('k2'), undefined)
  assert.equal((await b.status()).keys, 0)
  assert.equal((await b.status()).replicateAll, false)

  assert.deepEqual(await b.fetch('k1', 2_000), { key: 'k1', contract: { id: 'lww-register' }, value: 'one' })
  assert.ok(a.stats().sync.wantsAnswered >= 1, 'A answered the want')

  const before = b.stats().sync.notReplicated
  await a.update('k1', 'lww-register', 'set', ['uno'])
  await a.update('k2', 'lww-register', 'set', ['dos'])
  await until('the new k1 to reach B', async () => await allHold([b], 'k1', 'uno'))
  await dropped(b, before)
  assert.equal(await b.get('k2'), undefined, 'k2 is still not kept')
  assert.deepEqual(await b.keys(), ['k1'])
  assert.equal((await b.status()).keys, 1)
})

test('fetching a key nobody holds resolves undefined after the wait, and the key is not kept after', { timeout: 15_000 }, async () => {
  const a = await fx.start({})
  const b = await fx.start({ bootstrap: a.multiaddrs() })
  await linked(a, b)
  const wait = 700
  const started = Date.now()
  assert.equal(await b.fetch('nobody', wait), undefined)
  const elapsed = Date.now() - started
  assert.ok(elapsed >= wait - 30 && elapsed < wait + 1_500, `fetch took ${elapsed} ms`)

  const before = b.stats().sync.notReplicated
  await a.update('nobody', 'g-counter', 'inc', [1])
  await dropped(b, before)
  assert.equal(await b.get('nobody'), undefined, 'a fetch that timed out wants the key no longer')
  assert.equal((await b.status()).keys, 0)
})

/**
 * The ids a remote change to `key` brought, as `node`'s journal says it arrived: a push names the write;
 * a session (on a loaded machine one may bring the change before the push) names none.
 */
async function writesOf (node: MonoidbNode, key: string, write: string): Promise<string[]> {
  await until('the journal to record the change', () => node.journal.query({ key }).some(r => r.kind === 'merged' && r.changed))
  const first = node.journal.query({ key }).find(r => r.kind === 'merged' && r.changed)!
  return first.kind === 'merged' && first.path === 'push' ? [write] : []
}

test('a partial node subscribed to a key nobody has yet gets it when a peer writes it', { timeout: 15_000 }, async () => {
  const a = await fx.start({})
  const b = await fx.start({ bootstrap: a.multiaddrs() })
  await linked(a, b)
  const changes = b.subscribe('later')
  const seen = (async (): Promise<Change> => {
    for await (const change of changes) return change
    throw new Error('subscription ended')
  })()
  await new Promise(resolve => setTimeout(resolve, 200)) // the want goes unanswered: nobody has the key
  const written = await a.update('later', 'or-set', 'add', ['x'])
  const change = await Promise.race([seen, new Promise<never>((_resolve, reject) => setTimeout(() => { reject(new Error('B saw nothing within 3 s')) }, 3_000))])
  assert.deepEqual(change, { key: 'later', contract: { id: 'or-set' }, value: ['x'], origin: a.peerId, writes: await writesOf(b, 'later', written.write!) })
  assert.deepEqual(await b.get('later'), { key: 'later', contract: { id: 'or-set' }, value: ['x'] })
  assert.equal(b.stats().sync.notReplicated, 0)
})

test('partial nodes catch up the keys they hold by anti-entropy after a restart, in both directions', { timeout: 20_000 }, async () => {
  const aDir = fx.folder()
  const bDir = fx.folder()
  const a = await fx.start({ dataDir: aDir })
  const b = await fx.start({ dataDir: bDir, bootstrap: a.multiaddrs() })
  await linked(a, b)
  await a.update('k', 'g-counter', 'inc', [1])
  assert.equal((await b.fetch('k', 2_000))?.value, 1)
  await b.stop()
  await until('A to see B leave', () => a.peers().length === 0)

  await a.update('k', 'g-counter', 'inc', [10])
  await a.update('other1', 'g-counter', 'inc', [1])
  await a.update('other2', 'g-set', 'add', ['x'])
  const answered = a.stats().sync.wantsAnswered
  const b2 = await fx.start({ dataDir: bDir, bootstrap: a.multiaddrs() })
  assert.equal((await b2.get('k'))?.value, 1, 'B starts from what it had')
  await until('B to catch up k by anti-entropy', async () => await allHold([b2], 'k', 11), 5_000)
  assert.equal(b2.stats().store.updates, 0, 'no write on B')
  assert.equal(a.stats().sync.wantsAnswered, answered, 'no want: B caught up by its summaries')
  await until('a session to complete (the ack may trail the deltas)', () => b2.stats().sync.sessionsCompleted > 0)
  assert.equal(await b2.get('other1'), undefined)
  assert.equal(await b2.get('other2'), undefined)
  assert.deepEqual(await b2.keys(), ['k'])

  // The other way: A is down while B writes a key A holds.
  await a.stop()
  await until('B to see A leave', () => b2.peers().length === 0)
  await b2.update('k', 'g-counter', 'inc', [100])
  const a2 = await fx.start({ dataDir: aDir, bootstrap: b2.multiaddrs() })
  assert.equal((await a2.get('k'))?.value, 11)
  await until('B\'s write to reach A by anti-entropy', async () => await allHold([a2], 'k', 111), 5_000)
  assert.equal(a2.stats().store.updates, 0)
  assert.equal((await b2.status()).keys, 1, 'B still holds only k')
})

test('in a line A — B — C, a fetch on C is answered by A through B, and B keeps nothing of it', { timeout: 20_000 }, async () => {
  const a = await fx.start({})
  const b = await fx.start({ bootstrap: a.multiaddrs() })
  const c = await fx.start({ bootstrap: b.multiaddrs() })
  await linked(a, b)
  await linked(b, c)
  assert.ok(!a.peers().some(p => p.peerId === c.peerId), 'A and C are not neighbours')
  await a.update('far', 'lww-register', 'set', ['from A'])
  await dropped(b, 0) // A's push passed B (and C), neither keeping it
  assert.equal(await c.get('far'), undefined)

  assert.deepEqual(await c.fetch('far', 3_000), { key: 'far', contract: { id: 'lww-register' }, value: 'from A' })
  assert.ok(a.stats().sync.wantsAnswered >= 1, 'A answered')
  assert.equal(b.stats().sync.wantsAnswered, 0, 'B holds nothing to answer with')
  assert.equal(a.peers().some(p => p.peerId === c.peerId), false, 'still no direct link: relayed by gossip')
  assert.equal(await b.get('far'), undefined)
  assert.equal((await b.status()).keys, 0)
  assert.deepEqual(await c.keys(), ['far'])
})

test('a replicate-all node keeps every key, a partial neighbour only its own', { timeout: 20_000 }, async () => {
  const p = await fx.start({})
  await p.update('p-early', 'g-counter', 'inc', [5]) // before anyone listens: only anti-entropy can carry it
  const f = await fx.start({ replicateAll: true, bootstrap: p.multiaddrs() })
  await linked(p, f)
  assert.equal((await f.status()).replicateAll, true)
  await until('P\'s early write to reach F', async () => await allHold([f], 'p-early', 5), 5_000)

  await p.update('p-late', 'or-set', 'add', ['y'])
  await f.update('f-own', 'lww-register', 'set', ['mine'])
  await until('P\'s late write to reach F', async () => await allHold([f], 'p-late', ['y']))
  await dropped(p, 0)
  // Long enough for an anti-entropy period or two (300 ms): F's new key must not come back with them.
  await new Promise(resolve => setTimeout(resolve, 800))
  assert.deepEqual(await f.keys(), ['f-own', 'p-early', 'p-late'])
  assert.deepEqual(await p.keys(), ['p-early', 'p-late'])
  assert.equal(await p.get('f-own'), undefined)
  assert.equal(f.stats().sync.notReplicated, 0)
})
