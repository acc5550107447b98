/**
 * A small seeded PRNG (sfc32, seeded through splitmix32) for the fuzzer: every run is named by
 * its seed, so any failure replays exactly from the seed it prints.
 */
export class Prng {
  #a: number
  #b: number
  #c: number
  #d: number

  constructor (seed: number) {
    let s = seed >>> 0
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      return (z ^ (z >>> 16)) >>> 0
    }
    this.#a = next(); this.#b = next(); this.#c = next(); this.#d = next()
    for (let i = 0; i < 12; i++) this.u32()
  }

  /** A uniform 32-bit unsigned integer. */
  u32 (): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0
    this.#d = (this.#d + 1) >>> 0
    this.#a = this.#b ^ (this.#b >>> 9)
    this.#b = (this.#c + (this.#c << 3)) >>> 0
    this.#c = (this.#c << 21) | (this.#c >>> 11)
    this.#c = (this.#c + t) >>> 0
    return t
  }

  /** A float in [0, 1). */
  float (): number { return this.u32() / 4294967296 }
  /** An integer in [0, n). */
  int (n: number): number { return Math.floor(this.float() * n) }
  /** An integer in [lo, hi]. */
  range (lo: number, hi: number): number { return lo + this.int(hi - lo + 1) }
  chance (p: number): boolean { return this.float() < p }
  pick<T> (xs: readonly T[]): T { return xs[this.int(xs.length)] }
  bytes (n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff
    return out
  }

  /** A short string of letters and a few awkward characters (multi-byte, a surrogate pair). */
  text (max: number): string {
    const chars = 'abcdefghijklmnopqrstuvwxyz0123456789/_-.é日😀'
    const n = this.int(max + 1)
    let s = ''
    for (let i = 0; i < n; i++) s += this.pick([...chars])
    return s
  }
}
