// The simulation loop on its own, driven by the naive flood engine (the real engine's runs are in sync-engine.test.ts).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseFaults } from '../../sim/faults.ts'
import { replayCommand, simulate, sumStats } from '../../sim/simulation.ts'
import { FloodEngine } from './flood-engine.ts'

test('a correct engine converges with nothing lost under every kind of fault (20 seeds)', async () => {
  for (let seed = 100; seed < 120; seed++) {
    const r = await simulate({ seed, peers: 4, keys: 18, createEngine: FloodEngine.factory(300) })
    assert.deepEqual(r.problems, [], `seed ${seed}`)
    assert.equal(r.converged, true)
    assert.ok(r.ops.acked > 0)
    assert.ok(r.convergedAt! >= r.healAt && r.rounds! >= 0)
  }
})

test('an engine that never repairs lost pushes is caught, and the result says how to replay it', async () => {
  const options = { seed: 7, peers: 3, keys: 10, faults: parseFaults('drop=0.3'), deadlineMs: 5000, createEngine: FloodEngine.factory(300, true) }
  const r = await simulate(options)
  assert.equal(r.converged, false)
  assert.match(r.problems[0], /did not converge within 5000 ms/)
  assert.ok(r.problems.some(p => /differs/.test(p)))
  assert.equal(replayCommand(options), 'npm run sim -- --seed 7 --peers 3 --keys 10 --deadline 5000 --faults drop=0.3')
})

test('the same seed replays identically; another seed does not', async () => {
  const run = async (seed: number) => await simulate({ seed, peers: 4, keys: 12, createEngine: FloodEngine.factory(250) })
  const [a, b, c] = [await run(31), await run(31), await run(32)]
  assert.deepEqual(a, b)
  assert.notEqual(a.stateDigest, c.stateDigest)
})

test('the ideal counts exactly the bytes a peer lacked at the heal', async () => {
  // One peer isolated for the whole workload: afterwards it lacks every write of the others, and they lack its writes.
  const schedule = { drop: 0, dup: 0, delayMs: 0, skewMs: [0, 0], partitions: [{ kind: 'split' as const, side: [1], at: 0, heal: 1000 }], crashes: [] }
  const r = await simulate({ seed: 3, peers: 2, keys: 1, ops: 1, horizonMs: 1000, schedule, createEngine: FloodEngine.factory(100) })
  assert.deepEqual(r.problems, [])
  assert.ok(r.idealBytes! > 0 && r.idealBytes! < 200, `ideal ${r.idealBytes}`)
})

test('sumStats adds counters across engines, nested ones too', () => {
  assert.deepEqual(sumStats([{ a: 1, by: { push: 2 } }, { a: 3, by: { push: 1, digest: 5 }, name: 'x' }]), { a: 4, 'by.push': 3, 'by.digest': 5 })
})
