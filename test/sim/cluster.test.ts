import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { SyncOptions, SyncStore } from '../../core/sync/types.ts'
import { createRegistry } from '../../contracts/index.ts'
import { Cluster, type Engine } from '../../sim/cluster.ts'
import { Random } from '../../sim/random.ts'
import { FloodEngine } from './flood-engine.ts'

const EPOCH = Date.UTC(2024, 0, 1)

/** Builds a cluster whose engines log what they are told, as "peer: event". */
async function recorded (peers: number, skewMs: number[] = new Array(peers).fill(0)) {
  const log: string[] = []
  let engines = 0
  const createEngine = async (store: SyncStore, o: SyncOptions): Promise<Engine> => {
    engines++
    const inner = await FloodEngine.factory(100)(store, o)
    log.push(`${o.self}: created at ${o.now - EPOCH}`)
    return {
      localUpdate: (...a) => inner.localUpdate(...a),
      receive: async (from, bytes, now) => { log.push(`${o.self}: receive from ${from}`); return await inner.receive(from, bytes, now) },
      peerJoined: (peer) => { log.push(`${o.self}: joined ${peer}`); return [] },
      peerLeft: (peer) => { log.push(`${o.self}: left ${peer}`); return [] },
      tick: async (now) => { log.push(`${o.self}: tick at ${now - EPOCH}`); return await inner.tick(now) },
      nextWakeup: () => inner.nextWakeup(),
      stats: () => inner.stats(),
      close: () => { log.push(`${o.self}: closed`); inner.close() }
    }
  }
  const cluster = await Cluster.create({ peers, registry: createRegistry(), rng: new Random(1), faults: { drop: 0, dup: 0, delayMs: 0 }, skewMs, epochMs: EPOCH, createEngine })
  return { cluster, log, engines: () => engines }
}

test('every peer is told about every other at start; a split and its heal close and reopen exactly the connections across it', async () => {
  const { cluster, log } = await recorded(3)
  assert.deepEqual(log.filter(l => l.includes('joined')).sort(), ['p0: joined p1', 'p0: joined p2', 'p1: joined p0', 'p1: joined p2', 'p2: joined p0', 'p2: joined p1'])
  log.length = 0
  cluster.split([0])
  assert.deepEqual(log.sort(), ['p0: left p1', 'p0: left p2', 'p1: left p0', 'p2: left p0'])
  log.length = 0
  cluster.heal([0])
  assert.deepEqual(log.sort(), ['p0: joined p1', 'p0: joined p2', 'p1: joined p0', 'p2: joined p0'])
  await cluster.close()
})

test('a publish reaches connected peers only, and messages in flight over a closed connection are lost', async () => {
  const { cluster, log } = await recorded(3)
  cluster.split([2])
  log.length = 0
  await cluster.update(0, 'c', 'g-counter', 'inc', [1])
  await cluster.run(5)
  assert.deepEqual(log.filter(l => l.includes('receive')), ['p1: receive from p0'])
  await cluster.update(0, 'c', 'g-counter', 'inc', [1])
  cluster.split([1]) // before the 1 ms delivery
  await cluster.run(10)
  assert.equal(log.filter(l => l.includes('receive')).length, 1)
  await cluster.close()
})

test('a crash keeps the store and loses the engine; a restart opens the same data with a fresh engine and reconnects', async () => {
  const { cluster, log, engines } = await recorded(3)
  await cluster.update(1, 'c', 'g-counter', 'inc', [4])
  await cluster.run(50)
  log.length = 0
  await cluster.crash(1)
  assert.equal(cluster.isUp(1), false)
  assert.deepEqual(log.sort(), ['p0: left p1', 'p1: closed', 'p2: left p1'])
  log.length = 0
  await cluster.run(300)
  assert.ok(!log.some(l => l.startsWith('p1:')), 'a crashed peer is not woken')
  const before = engines()
  await cluster.restart(1)
  assert.equal(engines(), before + 1)
  assert.deepEqual((await cluster.peers[1].store.get('c'))?.value, 4)
  assert.deepEqual(log.filter(l => l.includes('joined')).sort(), ['p0: joined p1', 'p1: joined p0', 'p1: joined p2', 'p2: joined p1'])
  assert.ok(log.includes('p1: created at 300'))
  // As after a real crash, the store writes under a new replica id (a new epoch), deterministically named.
  assert.equal(cluster.peers[1].store.replica, 'p1+1')
  assert.deepEqual(cluster.peers[1].store.replaced, { replica: 'p1', reason: 'unclean' })
  const { delta } = await cluster.update(1, 'c', 'g-counter', 'inc', [1])
  assert.deepEqual(delta, [['p1+1', 1]], 'the new epoch counts from its own entry')
  assert.deepEqual((await cluster.peers[1].store.get('c'))?.value, 5)
  await cluster.crash(1)
  await cluster.restart(1)
  assert.equal(cluster.peers[1].store.replica, 'p1+2')
  await cluster.close()
})

test('engines are woken at their nextWakeup on their own (skewed) clock, and converged() follows the stores', async () => {
  const { cluster, log } = await recorded(2, [0, 2000])
  assert.ok(log.includes('p1: created at 2000'))
  await cluster.update(0, 'k', 'or-set', 'add', ['x'])
  assert.equal(cluster.converged(), false)
  await cluster.run(400)
  const ticks = log.filter(l => l.startsWith('p1: tick')).map(l => Number(l.split(' ').at(-1)))
  assert.ok(ticks.length >= 3, 'a 100 ms period ticks several times in 400 ms')
  for (const t of ticks) assert.ok(t >= 2000 && t <= 2400, `tick at ${t}`)
  assert.equal(cluster.converged(), true)
  await cluster.close()
})
