// The real SyncEngine in the simulator: convergence with nothing lost over hundreds of random fault schedules.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { MAX_DELAY_MS, MAX_DROP, MAX_DUP, MAX_SKEW_MS, type FaultSchedule, type Partition } from '../../sim/faults.ts'
import { seedCase } from '../../sim/seed-case.ts'
import { type SimOptions, replayCommand, simulate } from '../../sim/simulation.ts'
import { createSyncEngine } from '../../sim/sync-engine.ts'

const SEEDS = 500

async function passes (o: Omit<SimOptions, 'createEngine'>): Promise<void> {
  const r = await simulate({ ...o, createEngine: createSyncEngine })
  assert.deepEqual(r.problems, [], `seed ${o.seed} failed; replay: ${replayCommand(o)}`)
  assert.equal(r.converged, true)
}

test(`${SEEDS} random seeds with random faults all converge, with every acknowledged write kept and nothing invented`, async () => {
  const failed: string[] = []
  let crashes = 0; let partitions = 0; let acked = 0
  for (let seed = 1; seed <= SEEDS; seed++) {
    const c = seedCase(seed)
    const r = await simulate({ ...c, createEngine: createSyncEngine })
    crashes += r.schedule.crashes.length
    partitions += r.schedule.partitions.length
    acked += r.ops.acked
    if (r.problems.length > 0) failed.push(`seed ${seed}: ${r.problems[0]}\n  replay: ${replayCommand(c)}`)
  }
  assert.deepEqual(failed, [])
  assert.ok(crashes > SEEDS / 2 && partitions > SEEDS && acked > SEEDS * 20, 'the seeds really exercised crashes, partitions and writes')
})

/** A fault schedule for `peers` peers: fast-check shrinks it toward fewer, shorter, simpler faults. */
function scheduleArb (peers: number, horizon: number): fc.Arbitrary<FaultSchedule> {
  const peer = fc.integer({ min: 0, max: peers - 1 })
  const window = fc.tuple(fc.integer({ min: 0, max: horizon }), fc.integer({ min: 0, max: horizon })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)])
  const partition: fc.Arbitrary<Partition> = fc.record({
    kind: fc.constantFrom('split' as const, 'oneway' as const, 'isolate' as const),
    side: fc.uniqueArray(peer, { minLength: 1, maxLength: peers - 1 }),
    window
  }).map(({ kind, side, window: [at, heal] }) => ({ kind, side: kind === 'isolate' ? [side[0]] : side.sort((a, b) => a - b), at, heal }))
  const crash = fc.record({ peer, at: fc.integer({ min: 0, max: horizon }), downMs: fc.integer({ min: 0, max: horizon }), inflightOp: fc.boolean() })
  return fc.record({
    drop: fc.double({ min: 0, max: MAX_DROP, noNaN: true }),
    dup: fc.double({ min: 0, max: MAX_DUP, noNaN: true }),
    delayMs: fc.integer({ min: 0, max: MAX_DELAY_MS }),
    skewMs: fc.array(fc.integer({ min: -MAX_SKEW_MS, max: MAX_SKEW_MS }), { minLength: peers, maxLength: peers }),
    partitions: fc.array(partition, { maxLength: 5 }),
    crashes: fc.array(crash, { maxLength: 4 })
  })
}

test('fast-check over fault schedules: every schedule converges with nothing lost (a failure shrinks to a minimal schedule)', async () => {
  const peers = 4; const keys = 12; const horizonMs = 2000
  await fc.assert(fc.asyncProperty(scheduleArb(peers, horizonMs), fc.integer({ min: 0, max: 0xffffffff }), async (schedule, seed) => {
    await passes({ seed, peers, keys, ops: 40, horizonMs, schedule })
  }), { numRuns: 100 })
})

test('replaying a seed gives an identical run: same result, traffic, engine counters and final states', async () => {
  for (const seed of [5, 77]) {
    const c = { ...seedCase(seed), peers: 5 }
    const a = await simulate({ ...c, createEngine: createSyncEngine })
    const b = await simulate({ ...c, createEngine: createSyncEngine })
    assert.deepEqual(b, a)
    assert.ok(a.messagesPerPeer > 0)
  }
})

test('a peer whose pushes are all lost (a one-way block, so no reconnect) is caught up by periodic anti-entropy alone', async () => {
  const peers = 3
  const schedule: FaultSchedule = { drop: 0, dup: 0, delayMs: 5, skewMs: [0, 0, 0], partitions: [{ kind: 'oneway', side: [0], at: 0, heal: 2000 }], crashes: [] }
  const r = await simulate({ seed: 9, peers, keys: 20, ops: 60, horizonMs: 2000, schedule, createEngine: createSyncEngine })
  assert.deepEqual(r.problems, [])
  assert.ok(r.divergentKeys! > 0, 'the block left peers behind')
  assert.ok((r.engine.sessionsStarted ?? 0) > 0)
})
