// Key sets whose old digests collide, for the forged-digest tests: g-counter keys written by one replica,
// each at one of two states, so that two peers holding different states of some keys have equal XORs of
// item hashes (found by Gaussian elimination over GF(2)), or equal sums mod 2^128 (a fixture, see
// test/fixtures/sum-collision.json and sim/tools/sum-collision.ts).
import type { Plain } from '../../../core/codec.ts'
import { HASH_BYTES, itemHash } from '../../../core/sync/key-index.ts'

export const CONTRACT = { id: 'g-counter' }
/** A g-counter state: `n` increments by replica "w" (its summary is itself). */
export const counter = (n: number): Plain => [['w', n]]

export function toBig (h: Uint8Array): bigint {
  return BigInt('0x' + Buffer.from(h).toString('hex'))
}

/** The version-2 digest: the XOR of item hashes (kept here only to show what it could not tell apart). */
export function xorDigest (hashes: Iterable<Uint8Array>): Uint8Array {
  const out = new Uint8Array(HASH_BYTES)
  for (const h of hashes) for (let i = 0; i < HASH_BYTES; i++) out[i] ^= h[i]
  return out
}

/** The sum of item hashes mod 2^128 (what a "sum instead of XOR" digest would be). */
export function sumDigest (hashes: Iterable<Uint8Array>): bigint {
  let s = 0n
  for (const h of hashes) s = (s + toBig(h)) & ((1n << 128n) - 1n)
  return s
}

/**
 * Indices of a non-empty subset of `vectors` (128-bit) whose XOR is zero: Gaussian elimination over
 * GF(2), tracking which inputs make up each reduced vector. With more than 128 vectors one must exist.
 */
export function xorDependency (vectors: readonly bigint[]): number[] {
  const basis = new Map<number, { v: bigint, from: bigint }>() // pivot bit → reduced vector and its inputs (a bit set)
  for (let i = 0; i < vectors.length; i++) {
    let v = vectors[i]
    let from = 1n << BigInt(i)
    while (v !== 0n) {
      const pivot = v.toString(2).length - 1
      const b = basis.get(pivot)
      if (b === undefined) break
      v ^= b.v
      from ^= b.from
    }
    if (v === 0n) return [...from.toString(2)].reverse().flatMap((bit, j) => bit === '1' ? [j] : [])
    basis.set(v.toString(2).length - 1, { v, from })
  }
  throw new Error('no dependency: fewer than 129 independent vectors?')
}

/**
 * Keys `names` (in order) at state 1 on one side; the keys at `subset` positions are at state 2 on the
 * other. The XOR of the item hashes of the subset's two states cancels: both sides' XOR digests are equal.
 */
export function xorCollision (names: readonly string[], among: number): { subset: Set<string> } {
  const diffs = names.slice(0, among).map(k => toBig(itemHash(k, CONTRACT, counter(1))) ^ toBig(itemHash(k, CONTRACT, counter(2))))
  return { subset: new Set(xorDependency(diffs).map(i => names[i])) }
}
