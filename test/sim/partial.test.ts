// Partial replication in the simulator: partial peers under random faults, the want path, and broken engines caught.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { ReplicaStore } from '../../core/replica-store.ts'
import { MemoryStorage } from '../../core/storage.ts'
import { SyncEngine } from '../../core/sync/engine.ts'
import { createRegistry } from '../../contracts/index.ts'
import { checkReplicas } from '../../sim/checker.ts'
import { Cluster, type EngineFactory } from '../../sim/cluster.ts'
import { parseFaults } from '../../sim/faults.ts'
import { drawInterests, partialCount } from '../../sim/interests.ts'
import { Random } from '../../sim/random.ts'
import { partialSeedCase, seedCase } from '../../sim/seed-case.ts'
import { replayCommand, simulate } from '../../sim/simulation.ts'
import { createSyncEngine } from '../../sim/sync-engine.ts'
import { WriteLog, planKeys } from '../../sim/workload.ts'

const SEEDS = 300
const EPOCH = Date.UTC(2024, 0, 1)

test(`${SEEDS} random seeds with partial peers and random faults: each keeps exactly its keys, as the others hold them, nothing lost`, async () => {
  const failed: string[] = []
  let partialPeers = 0; let answered = 0; let dropped = 0; let crashes = 0; let partitions = 0
  for (let seed = 1; seed <= SEEDS; seed++) {
    const c = partialSeedCase(seed)
    const r = await simulate({ ...c, createEngine: createSyncEngine })
    partialPeers += r.partial.length
    answered += r.engine.wantsAnswered ?? 0
    dropped += r.engine.notReplicated ?? 0
    crashes += r.schedule.crashes.length
    partitions += r.schedule.partitions.length
    if (r.problems.length > 0) failed.push(`seed ${seed}: ${r.problems[0]}\n  replay: ${replayCommand(c)}`)
  }
  assert.deepEqual(failed, [])
  assert.ok(partialPeers > SEEDS && answered > SEEDS && dropped > SEEDS, `partial peers ${partialPeers}, wants answered ${answered}, deltas not replicated ${dropped}`)
  assert.ok(crashes > SEEDS / 2 && partitions > SEEDS, 'the seeds really exercised crashes and partitions')
})

test('a partial seed replays identically, and partial 0 is exactly the run without partial replication', async () => {
  const c = partialSeedCase(41)
  const a = await simulate({ ...c, createEngine: createSyncEngine })
  const b = await simulate({ ...c, createEngine: createSyncEngine })
  assert.deepEqual(b, a)
  assert.ok(a.partial.length > 0 && (a.engine['perType.want.messagesSent'] ?? 0) > 0)
  const plain = seedCase(41)
  assert.deepEqual(await simulate({ ...plain, partial: 0, createEngine: createSyncEngine }), await simulate({ ...plain, createEngine: createSyncEngine }))
})

test('partial peers: at least one, never all; each keeps 10–50% of the keys, drawn by seed', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 300 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.nat(), (peers, keys, fraction, seed) => {
    const plan = planKeys(new Random(seed), keys)
    const interests = drawInterests(new Random(seed), peers, fraction, plan)
    const partial = interests.filter(i => i !== undefined)
    assert.equal(partial.length, partialCount(peers, fraction))
    assert.ok(peers < 2 || fraction === 0 || (partial.length >= 1 && partial.length < peers))
    for (const i of partial) {
      assert.ok(i.length >= Math.max(1, Math.floor(0.1 * keys)) && i.length <= Math.max(1, Math.ceil(0.5 * keys)), `${i.length} of ${keys}`)
      assert.equal(new Set(i.map(k => k.key)).size, i.length)
    }
    assert.deepEqual(drawInterests(new Random(seed), peers, fraction, plan), interests)
  }))
})

/** Two peers, p1 partial (keeps a and b), p0 replicate-all, anti-entropy off: only pushes and wants move data. */
async function wantCluster (createEngine: EngineFactory) {
  const cluster = await Cluster.create({
    peers: 2, registry: createRegistry(), rng: new Random(5), faults: { drop: 0, dup: 0, delayMs: 2 }, skewMs: [0, 0], epochMs: EPOCH,
    createEngine, config: { antiEntropyMs: 1e9 }, interests: [undefined, ['a', 'b']]
  })
  cluster.split([1])
  for (const key of ['a', 'b', 'c']) await cluster.update(0, key, 'g-counter', 'inc', [2])
  await cluster.run(100)
  cluster.heal([1])
  await cluster.run(300)
  const keysOn1 = async () => await cluster.peers[1].store.keys()
  assert.deepEqual(await keysOn1(), [], 'missed pushes are not repaired while anti-entropy is off')
  assert.equal(cluster.converged(), false)
  cluster.want(1, ['a', 'b'])
  await cluster.run(600)
  return { cluster, keysOn1 }
}

test('a want fetches exactly the wanted keys from a holder; an engine that never sends its wants is caught', async () => {
  const ok = await wantCluster(createSyncEngine)
  assert.deepEqual(await ok.keysOn1(), ['a', 'b'])
  assert.equal(ok.cluster.converged(), true)
  assert.equal((ok.cluster.peers[0].engine!.stats() as { wantsAnswered: number }).wantsAnswered, 2)
  await ok.cluster.close()

  const mute: EngineFactory = async (store, o) => {
    const e = await SyncEngine.create(store, o)
    return {
      localUpdate: (...a) => e.localUpdate(...a),
      receive: async (...a) => await e.receive(...a),
      peerJoined: (...a) => e.peerJoined(...a),
      peerLeft: (...a) => e.peerLeft(...a),
      tick: async now => await e.tick(now),
      want: () => [],
      nextWakeup: () => e.nextWakeup(),
      stats: () => e.stats(),
      close: () => { e.close() }
    }
  }
  const broken = await wantCluster(mute)
  assert.deepEqual(await broken.keysOn1(), [])
  assert.equal(broken.cluster.converged(), false)
  await broken.cluster.close()
})

test('an engine whose partial peers keep every key is caught: keys outside the interest, no convergence', async () => {
  const keepsAll: EngineFactory = async (store, { interest: _ignored, ...o }) => await SyncEngine.create(store, o)
  const r = await simulate({ seed: 3, peers: 4, keys: 30, partial: 0.5, faults: parseFaults('drop=0.1'), deadlineMs: 5000, createEngine: keepsAll })
  assert.equal(r.converged, false)
  assert.ok(r.problems.some(p => /is on p\d+, outside the keys it keeps/.test(p)), r.problems.join('\n'))
})

test('an engine whose partial peers want nothing beyond what they write is caught: their other keys are missing', async () => {
  const wantsNothing: EngineFactory = async (store, o) =>
    await SyncEngine.create(store, o.interest === undefined ? o : { ...o, interest: { wants: () => false, wanted: () => [] } })
  const r = await simulate({ seed: 3, peers: 4, keys: 30, partial: 0.5, faults: parseFaults('drop=0.1'), deadlineMs: 5000, createEngine: wantsNothing })
  assert.equal(r.converged, false)
  assert.ok(r.problems.some(p => /differs: p\d+ has .*, p\d+ has \(nothing\)/.test(p)), r.problems.join('\n'))
})

test('the checker holds a partial replica to its keys: others unheld, its own as everyone has them', async () => {
  const registry = createRegistry()
  const open = async (replica: string): Promise<ReplicaStore> => await ReplicaStore.open({ storage: new MemoryStorage(), registry, replica, clock: () => EPOCH })
  const [a, b] = [await open('a'), await open('b')]
  const writes = new WriteLog()
  const write = async (key: string, to: ReplicaStore[]) => {
    const r = await a.update(key, 'g-counter', 'inc', [1])
    writes.record(key, 'g-counter', r.delta, true)
    for (const s of to) await s.mergeRemote(key, 'g-counter', r.delta!, 'a')
  }
  const check = async () => await checkReplicas([{ name: 'b', store: b, keeps: k => k === 'mine' }, { name: 'a', store: a }], registry, writes)
  await write('mine', [b])
  await write('other', [])
  assert.deepEqual(await check(), [])
  await write('mine', [])
  assert.match((await check())[0], /key mine differs: a has .*, b has/)
  await b.mergeRemote('mine', 'g-counter', (await a.deltaFor('mine'))!.delta, 'a')
  await b.mergeRemote('other', 'g-counter', (await a.deltaFor('other'))!.delta, 'a')
  assert.deepEqual(await check(), ['key other is on b, outside the keys it keeps'])
  await a.close(); await b.close()
})

test('npm run sim --partial prints the partial peers and replays with --partial; a bad fraction exits 2', () => {
  const script = fileURLToPath(new URL('../../sim/run.ts', import.meta.url))
  const run = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' })
  const r = run('--peers', '5', '--keys', '30', '--partial', '0.5', '--faults', 'drop=0.1,partition', '--seed', '4')
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.match(r.stdout, /partial: 3 of 5 peers keep \d+–\d+ of the 30 keys each; \d+ wants sent/)
  assert.match(r.stdout, /replay: npm run sim -- --seed 4 --peers 5 --keys 30 --partial 0.5 --faults drop=0.1,partition/)
  for (const bad of ['1.5', '-0.1', 'half', '']) {
    const e = run(`--partial=${bad}`)
    assert.equal(e.status, 2, bad)
    assert.match(e.stderr, /--partial must be a fraction in 0..1/)
  }
})
