/**
 * The small random case CI and the soak run for each seed: the seed alone
 * fixes the peer and key counts and (through `random` faults) the whole
 * fault schedule, so `replayCommand(seedCase(seed))` replays it exactly.
 * `partialSeedCase` is the same case with a seeded fraction of partial peers
 * (sim/interests.ts), and at least three peers so that partial and
 * replicate-all peers both come in numbers.
 */
import { ALL_FAULTS } from './faults.ts'
import { Random } from './random.ts'
import type { SimOptions } from './simulation.ts'

export type SeedCase = Omit<SimOptions, 'createEngine'>

export function seedCase (seed: number): SeedCase {
  const rng = new Random(seed).fork('case')
  const keys = rng.int(4, 60)
  return { seed, peers: rng.int(2, 8), keys, ops: rng.int(keys, 4 * keys), faults: ALL_FAULTS }
}

export function partialSeedCase (seed: number): SeedCase {
  const rng = new Random(seed).fork('partial case')
  const c = seedCase(seed)
  return { ...c, peers: Math.max(3, c.peers), partial: Math.round(rng.between(0.2, 0.8) * 100) / 100 }
}
