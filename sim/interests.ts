/**
 * Partial replication in the simulator: which peers keep only some keys, and
 * which. A `partial` fraction of the peers (at least one if above 0, never
 * all: someone must keep every key) each get a seeded random subset of 10–50%
 * of the keys. Such a peer writes only keys of its subset, and its engine's
 * Interest wants exactly that subset, so after the heal it must hold exactly
 * the keys of its subset that exist anywhere. The cluster is a full mesh
 * outside partitions, so every partial peer is connected to every
 * replicate-all peer once the faults heal.
 */
import type { Interest } from '../core/sync/types.ts'
import type { PlannedKey } from './workload.ts'
import type { Random } from './random.ts'

/** A want names at most this many keys (the decoder refuses more, PROTOCOL.md §12). */
export const MAX_WANT_KEYS = 1024

/** A fixed set of keys as the engine's Interest. */
export class KeySubset implements Interest {
  readonly keys: ReadonlySet<string>

  constructor (keys: Iterable<string>) {
    this.keys = new Set(keys)
  }

  wants (key: string): boolean {
    return this.keys.has(key)
  }

  wanted (): Iterable<string> {
    return this.keys
  }
}

/** How many of `peers` peers are partial for a fraction in [0, 1]: 0 for 0, else at least 1 and at most peers − 1. */
export function partialCount (peers: number, fraction: number): number {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`partial must be a fraction in 0..1, got ${fraction}`)
  if (fraction === 0 || peers < 2) return 0
  return Math.min(peers - 1, Math.max(1, Math.round(fraction * peers)))
}

/**
 * Per peer, the planned keys it keeps: undefined for a replicate-all peer. Draws only from `rng`,
 * so a run with no partial peers is the run it was before partial replication existed.
 */
export function drawInterests (rng: Random, peers: number, fraction: number, plan: readonly PlannedKey[]): Array<PlannedKey[] | undefined> {
  const out: Array<PlannedKey[] | undefined> = new Array(peers).fill(undefined)
  const count = partialCount(peers, fraction)
  for (const p of rng.shuffle(Array.from({ length: peers }, (_, i) => i)).slice(0, count)) {
    const size = Math.max(1, Math.round(rng.between(0.1, 0.5) * plan.length))
    out[p] = rng.shuffle(plan).slice(0, size).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }
  return out
}

/** Keys split into wants the decoder accepts. */
export function wantBatches (keys: readonly string[]): string[][] {
  const out: string[][] = []
  for (let i = 0; i < keys.length; i += MAX_WANT_KEYS) out.push(keys.slice(i, i + MAX_WANT_KEYS))
  return out
}
