/**
 * The whole-key-space digest: a lattice (multiset) hash, LtHash16 (Bellare &
 * Micciancio 1997; Lewi et al., "Securing Update Propagation with Homomorphic
 * Hashing", 2019). Each item hash is expanded by SHAKE256 into 1024 lanes of
 * 16 bits; a key space is the lane-wise sum mod 2^16 of its items' lanes, so
 * a change costs one subtraction and one addition (O(1) in the key count).
 *
 * Why not XOR (as range fingerprints use): XOR and sums mod 2^n are linear, so
 * a writer of many keys can find, by Gaussian elimination or Wagner's
 * generalised birthday algorithm, two different key sets with equal digests,
 * and peers holding them would believe they agree. Finding an LtHash16
 * collision is as hard as a short-vector problem in a 1024-dimensional lattice.
 *
 * What travels is 16 bytes: the first 16 of sha256 over the lanes (little
 * endian). Its collisions cost 2^64 work, as do those of the 16-byte item hashes
 * the lanes are expanded from: the digest is no weaker than the items it sums.
 */
import { createHash } from 'node:crypto'
import { GenerationalCache, bytesKey } from './generational-cache.ts'

export const LANES = 1024
export const DIGEST_BYTES = 16
/** Domain separation: these lanes are used for nothing else. */
const DOMAIN = new TextEncoder().encode('monoidb lthash16 v3\0')
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/**
 * Lanes of recently added item hashes (2 KiB each, 4 MiB in all): a key's next commit subtracts the
 * hash its last one added, so a key written often costs one expansion per change, not two.
 */
const recent = new GenerationalCache<string, Uint16Array>(2048)

/** The 1024 lanes of one item hash (SHAKE256 of the domain and the item hash). Read-only: it may be shared. */
export function lanes (item: Uint8Array): Uint16Array {
  const k = bytesKey(item)
  let v = recent.get(k)
  if (v === undefined) {
    v = expand(item)
    recent.set(k, v)
  }
  return v
}

function expand (item: Uint8Array): Uint16Array {
  const out = createHash('shake256', { outputLength: LANES * 2 }).update(DOMAIN).update(item).digest()
  const v = new Uint16Array(out.buffer.slice(out.byteOffset, out.byteOffset + LANES * 2))
  if (!LITTLE_ENDIAN) for (let i = 0; i < LANES; i++) v[i] = ((v[i] & 0xff) << 8) | (v[i] >> 8)
  return v
}

export class LtHash {
  readonly #sum = new Uint16Array(LANES)
  #digest: Uint8Array | undefined

  /** Adds an item (its 16-byte item hash) to the multiset. */
  add (item: Uint8Array): void {
    const l = lanes(item)
    const s = this.#sum
    for (let i = 0; i < LANES; i++) s[i] += l[i] // Uint16Array wraps: mod 2^16
    this.#digest = undefined
  }

  /** Removes an item added before. */
  remove (item: Uint8Array): void {
    const l = lanes(item)
    const s = this.#sum
    for (let i = 0; i < LANES; i++) s[i] -= l[i]
    this.#digest = undefined
  }

  /** Replaces item `before` (undefined: none) with `after` (undefined: none). */
  replace (before: Uint8Array | undefined, after: Uint8Array | undefined): void {
    if (before !== undefined) this.remove(before)
    if (after !== undefined) this.add(after)
  }

  /** The 16 bytes digests carry; computed once per state. */
  digest (): Uint8Array {
    if (this.#digest !== undefined) return this.#digest
    let bytes = new Uint8Array(this.#sum.buffer)
    if (!LITTLE_ENDIAN) {
      bytes = new Uint8Array(LANES * 2)
      for (let i = 0; i < LANES; i++) { bytes[2 * i] = this.#sum[i] & 0xff; bytes[2 * i + 1] = this.#sum[i] >> 8 }
    }
    this.#digest = new Uint8Array(createHash('sha256').update(bytes).digest().subarray(0, DIGEST_BYTES))
    return this.#digest
  }
}
