// createNode over real libp2p on 127.0.0.1: propagation, convergence, and catching up after a restart.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Change } from '../../core/subscription.ts'
import { maxRegister } from '../fixtures/max-register.ts'
import { TEST_SYNC, allHold, hasSubscribedPeer, nodeFixtures, until } from '../helpers/node-fixtures.ts'

const fx = await nodeFixtures('node')
after(fx.cleanup)

test('an update on A is seen by a subscriber on B within 2 s, with A as its origin', { timeout: 15_000 }, async () => {
  const a = await fx.start({})
  const b = await fx.start({ bootstrap: a.multiaddrs() })
  await until('A and B to connect and subscribe', () => hasSubscribedPeer(a, b) && hasSubscribedPeer(b, a))
  assert.deepEqual(b.peers().map(p => p.peerId), [a.peerId])

  const changes = b.subscribe('cart')
  const seen = (async (): Promise<Change> => {
    for await (const change of changes) return change
    throw new Error('subscription ended')
  })()
  const started = Date.now()
  const written = await a.update('cart', 'or-set', 'add', ['apples'])
  assert.equal(written.write, `${a.replica}/1`, 'the write\'s id: A\'s replica id and the key\'s first write')
  const change = await Promise.race([seen, new Promise<never>((_resolve, reject) => setTimeout(() => { reject(new Error('B saw nothing within 2 s')) }, 2_000))])
  assert.ok(Date.now() - started < 2_000)
  // The push names the write it carried (a writes push, PROTOCOL.md §3.1), and B's event then carries the
  // writer's id; on a loaded machine a session may bring the change first (naming no writes), and the push
  // arrives redundant. B's journal says which: the event must match it, and the push's record names the write.
  await until('B\'s journal to record the writes push', () => b.journal.query({ key: 'cart' }).some(r => r.kind === 'merged' && r.path === 'push' && r.writes.length > 0))
  const merged = b.journal.query({ key: 'cart' }).filter(r => r.kind === 'merged')
  const changedBy = merged.find(r => r.changed)
  assert.ok(changedBy?.kind === 'merged' && changedBy.peer === a.peerId, JSON.stringify(merged))
  assert.deepEqual(change, { key: 'cart', contract: { id: 'or-set' }, value: ['apples'], origin: a.peerId, writes: changedBy.writes })
  assert.equal(merged.filter(r => r.kind === 'merged' && r.changed).length, 1, 'one delta changed B; the others were redundant')
  // The writes push names the write. A plain copy may come too (a want's answer, or the type-1 copy A sends while
  // it does not yet know that B hears the writes topic): it names none.
  const pushes = merged.filter(r => r.kind === 'merged' && r.path === 'push')
  assert.deepEqual(pushes.filter(r => r.kind === 'merged' && r.writes.length > 0).map(r => r.kind === 'merged' ? [r.peer, r.writes] : []), [[a.peerId, [written.write]]])

  assert.deepEqual(b.journal.query({ key: 'cart' })[0].kind, 'want-sent', 'B, a partial node, asked for the key it subscribed to')
  assert.deepEqual(a.journal.query({ key: 'cart' }).filter(r => r.kind === 'written').map(r => r.kind === 'written' ? [r.peer, r.writes] : []), [[a.peerId, [written.write]]])
  assert.deepEqual(await b.get('cart'), { key: 'cart', contract: { id: 'or-set' }, value: ['apples'] })
  assert.deepEqual(await b.keys(), ['cart'])

  const status = await b.status()
  assert.equal(status.peerId, b.peerId)
  assert.equal(status.peers, 1)
  assert.equal(status.keys, 1)
  assert.ok(status.multiaddrs.length > 0 && status.multiaddrs.every(m => m.startsWith('/ip4/127.0.0.1/tcp/') && m.endsWith(`/p2p/${b.peerId}`)), String(status.multiaddrs))
  assert.equal(b.stats().sync.badMessages, 0)
})

test('three nodes in a line converge on concurrent pn-counter and or-set updates', { timeout: 20_000 }, async () => {
  const a = await fx.start({})
  const b = await fx.start({ bootstrap: a.multiaddrs() })
  const c = await fx.start({ bootstrap: b.multiaddrs() })
  const nodes = [a, b, c]
  await until('the line A–B–C to form', () => a.peers().length === 1 && b.peers().length === 2 && c.peers().length === 1)
  assert.ok(!a.peers().some(p => p.peerId === c.peerId), 'A and C are not neighbours: what reaches C from A goes through B')

  const writes = nodes.flatMap((node, i) => Array.from({ length: 10 }, async (_, j) => {
    await node.update('hits', 'pn-counter', j % 3 === 0 ? 'dec' : 'inc', [i + 1])
    await node.update('tags', 'or-set', 'add', [`n${i}-${j}`])
    if (j % 2 === 1) await node.update('tags', 'or-set', 'remove', [`n${i}-${j}`])
  }))
  await Promise.all(writes)
  // Per node i: 6 incs and 4 decs of (i + 1), so 2·(i + 1) each: 2 + 4 + 6.
  const hits = 12
  const tags = nodes.flatMap((_, i) => [0, 2, 4, 6, 8].map(j => `n${i}-${j}`)).sort()
  await until('every node to hold every write', async () => await allHold(nodes, 'hits', hits) && await allHold(nodes, 'tags', tags), 10_000)
  for (const node of nodes) {
    assert.deepEqual(await node.get('hits'), { key: 'hits', contract: { id: 'pn-counter' }, value: hits })
    assert.equal(node.stats().sync.badMessages, 0)
  }
})

test('a node restarted on its data folder keeps its peer id and catches up without a new write', { timeout: 20_000 }, async () => {
  // Always-on peers: C catches up on a key it never saw, too.
  const a = await fx.start({ replicateAll: true })
  const b = await fx.start({ replicateAll: true, bootstrap: a.multiaddrs() })
  const cDir = fx.folder()
  const c = await fx.start({ replicateAll: true, dataDir: cDir, bootstrap: a.multiaddrs() })
  await until('C to connect', () => a.peers().length === 2)
  await c.update('visits', 'g-counter', 'inc', [1])
  await until('C\'s write to reach A and B', async () => await allHold([a, b], 'visits', 1))
  const cId = c.peerId
  await c.stop()
  await until('A and B to see C leave', () => a.peers().length === 1 && b.peers().length === 1)

  // While C is away: writes on A and B, and a key C has never seen.
  await a.update('visits', 'g-counter', 'inc', [10])
  await b.update('visits', 'g-counter', 'inc', [100])
  await b.update('notes', 'log', 'append', ['while C was away'])
  await until('A and B to agree', async () => await allHold([a, b], 'visits', 111))

  const c2 = await fx.start({ replicateAll: true, dataDir: cDir, bootstrap: a.multiaddrs() })
  assert.equal(c2.peerId, cId, 'the peer key in the data folder keeps the peer id')
  assert.equal((await stat(join(cDir, 'peer-key'))).mode & 0o777, 0o600)
  assert.equal((await c2.get('visits'))?.value, 1, 'C starts from what it had')
  await until('C to catch up by anti-entropy', async () => await allHold([c2], 'visits', 111) && (await c2.get('notes')) !== undefined, 5_000)
  const notes = (await c2.get('notes'))?.value as Array<{ value: unknown }>
  assert.deepEqual(notes.map(e => e.value), ['while C was away'])
  assert.equal(c2.stats().store.updates, 0, 'C made no write of its own since the restart')
  assert.ok(c2.stats().sync.deltasReceived > 0)
})

test('a stopped node refuses updates, and stop can be called twice', { timeout: 10_000 }, async () => {
  const a = await fx.start({})
  await a.update('k', 'g-counter', 'inc', [1])
  await a.stop()
  await a.stop()
  await assert.rejects(a.update('k', 'g-counter', 'inc', [1]), /is stopped/)
})

test('a bootstrap address without a peer id is refused, naming the address', async () => {
  await assert.rejects(fx.start({ bootstrap: ['/ip4/127.0.0.1/tcp/4001'] }), /\/ip4\/127\.0\.0\.1\/tcp\/4001 must end with \/p2p\/<peer id>/)
})

test('with mdns on, two nodes on one machine find each other without a bootstrap list', { timeout: 10_000 }, async () => {
  const a = await fx.start({ mdns: true })
  const b = await fx.start({ mdns: true, replicateAll: true })
  await until('A and B to discover each other', () => a.peers().some(p => p.peerId === b.peerId) && b.peers().some(p => p.peerId === a.peerId))
  await a.update('found', 'g-set', 'add', ['by mdns'])
  await until('the write to reach B', async () => await allHold([b], 'found', ['by mdns']))
})

test('stop sends what is pending: a write made just before stopping reaches the peer', { timeout: 10_000 }, async () => {
  const a = await fx.start({})
  const b = await fx.start({ replicateAll: true, bootstrap: a.multiaddrs() })
  await until('A to see B subscribed', () => hasSubscribedPeer(a, b))
  await a.update('last-words', 'lww-register', 'set', ['bye'])
  await a.stop() // within the push window: only the flush in stop() can have sent it, and A is gone for anti-entropy
  await until('B to hold the last write', async () => await allHold([b], 'last-words', 'bye'), 5_000) // A is gone: only the push can bring it
})

test('a second node on a data folder in use is refused, naming the folder', { timeout: 10_000 }, async () => {
  const dir = fx.folder()
  const a = await fx.start({ dataDir: dir })
  await assert.rejects(fx.start({ dataDir: dir }), (err: Error) => err.message.includes(join(dir, 'store')) && /already open/.test(err.message))
  await a.update('still', 'g-counter', 'inc', [1])
  assert.equal((await a.get('still'))?.value, 1)
})

test('custom contracts replicate between nodes that have them; a node without one merges nothing of it', { timeout: 10_000 }, async () => {
  const a = await fx.start({ contracts: [maxRegister] })
  const b = await fx.start({ contracts: [maxRegister], replicateAll: true, bootstrap: a.multiaddrs() })
  const c = await fx.start({ replicateAll: true, bootstrap: a.multiaddrs() })
  await until('all three to connect', () => a.peers().length === 2)
  await a.update('high', 'max-register', 'set', [7])
  await until('B to hold the custom value', async () => await allHold([b], 'high', 7))
  await until('C to refuse it', () => c.stats().sync.rejectedDeltas > 0)
  assert.equal(await c.get('high'), undefined)
  assert.ok((await c.status()).unknownContracts.byId['max-register'] > 0, 'status counts the deltas of the contract C lacks')
})

test('nodes with two versions of one contract merge nothing of each other\'s keys, and name the version they lack in status', { timeout: 15_000 }, async () => {
  const v1 = { ...maxRegister, version: '1' }
  const a = await fx.start({ contracts: [v1], replicateAll: true })
  const same = await fx.start({ contracts: [v1], replicateAll: true, bootstrap: a.multiaddrs() })
  const other = await fx.start({ contracts: [{ ...maxRegister, version: '2' }], replicateAll: true, bootstrap: a.multiaddrs() })
  await until('all three to connect and subscribe', () => hasSubscribedPeer(a, same) && hasSubscribedPeer(a, other) && hasSubscribedPeer(other, a))
  await other.update('high', 'max-register', 'set', [9])
  await a.update('high', 'max-register', 'set', [7])
  await until('the node of the same version to hold the value', async () => await allHold([same], 'high', 7))
  assert.deepEqual(await same.get('high'), { key: 'high', contract: { id: 'max-register', version: '1' }, value: 7 })
  await until('the node of another version to refuse it', async () => (await other.status()).unknownContracts.byId['max-register::1'] > 0)
  assert.deepEqual(await other.get('high'), { key: 'high', contract: { id: 'max-register', version: '2' }, value: 9 }, 'its own key, untouched')
  await until('the writer of version 1 to refuse version 2', async () => (await a.status()).unknownContracts.byId['max-register::2'] > 0)
  assert.deepEqual(await a.get('high'), { key: 'high', contract: { id: 'max-register', version: '1' }, value: 7 }, 'the larger value of version 2 did not get in')
  assert.equal((await same.get('high'))?.value, 7)
})

test('sync settings are taken as given: a push window above the default maximum starts, and grows from itself', { timeout: 10_000 }, async () => {
  const a = await fx.start({ sync: { ...TEST_SYNC, pushWindowMs: 100 } })
  await a.update('k', 'g-counter', 'inc', [1])
  assert.equal((await a.get('k'))?.value, 1)
})

test('stop waits for updates in flight and pushes them too', { timeout: 10_000 }, async () => {
  const a = await fx.start({})
  const pending = a.update('in-flight', 'g-counter', 'inc', [1])
  await a.stop()
  assert.equal((await pending).value, 1)
  assert.equal(a.stats().sync.perType.writes.messagesSent, 1, 'its push (a writes push) went out before the node stopped')
})

test('a node reports each peer\'s clock skew, estimated from the stamps of what it sent', { timeout: 10_000 }, async () => {
  const a = await fx.start({})
  const b = await fx.start({ replicateAll: true, bootstrap: a.multiaddrs() })
  await until('A to see B subscribed', () => hasSubscribedPeer(a, b))
  assert.deepEqual(b.clockSkew(), [])
  await a.update('title', 'lww-register', 'set', ['stamped'])
  await until('B to hold the write', async () => await allHold([b], 'title', 'stamped'), 5_000)
  const [skew] = b.clockSkew()
  assert.equal(skew.peer, a.peerId)
  // One machine, one clock: the stamp is at most now, and only the delivery delay behind it.
  assert.ok(skew.aheadMs <= 0 && skew.aheadMs > -5_000, `A is estimated ${skew.aheadMs} ms ahead`)
  assert.equal(skew.samples, 1)
  assert.deepEqual(b.stats().clockSkew.map(s => s.peer), [a.peerId])
})
