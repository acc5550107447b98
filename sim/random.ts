/**
 * A seeded pseudo-random generator (sfc32, seeded by splitmix32), so a whole
 * simulation replays from one number. `fork(label)` gives an independent
 * stream: the fault schedule, the workload and each engine draw from their
 * own, so changing how much one of them draws does not shift the others.
 */

/** splitmix32: spreads a 32-bit seed into well-mixed words. */
function splitmix32 (x: number): [number, number] {
  x = (x + 0x9e3779b9) | 0
  let z = x
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return [x, (z ^ (z >>> 16)) >>> 0]
}

/** FNV-1a of a label, to derive fork seeds from names. */
function hashLabel (label: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193)
  return h >>> 0
}

export class Random {
  readonly seed: number
  #a: number
  #b: number
  #c: number
  #d: number

  constructor (seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be a whole number in 0..${0xffffffff}, got ${seed}`)
    this.seed = seed
    let s = seed
    const words: number[] = []
    for (let i = 0; i < 4; i++) { const [next, w] = splitmix32(s); s = next; words.push(w) }
    ;[this.#a, this.#b, this.#c, this.#d] = words
    for (let i = 0; i < 12; i++) this.#next32()
  }

  #next32 (): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0
    this.#d = (this.#d + 1) | 0
    this.#a = this.#b ^ (this.#b >>> 9)
    this.#b = (this.#c + (this.#c << 3)) | 0
    this.#c = (this.#c << 21) | (this.#c >>> 11)
    this.#c = (this.#c + t) | 0
    return t >>> 0
  }

  /** Uniform in [0, 1). */
  next (): number {
    return this.#next32() / 4294967296
  }

  /** Uniform whole number in [lo, hi] (both included). */
  int (lo: number, hi: number): number {
    if (hi < lo) throw new RangeError(`empty range ${lo}..${hi}`)
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }

  /** Uniform in [lo, hi). */
  between (lo: number, hi: number): number {
    return lo + this.next() * (hi - lo)
  }

  /** True with probability p. */
  chance (p: number): boolean {
    return p > 0 && this.next() < p
  }

  pick<T> (items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list')
    return items[Math.floor(this.next() * items.length)]
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffle<T> (items: readonly T[]): T[] {
    const out = items.slice()
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1))
      ;[out[i], out[j]] = [out[j], out[i]]
    }
    return out
  }

  /** An independent stream named `label`, fixed by this generator's seed (not by how much it has drawn). */
  fork (label: string): Random {
    return new Random((Math.imul(this.seed ^ 0x5bd1e995, 0x01000193) ^ hashLabel(label)) >>> 0)
  }

  /** A `() => number` for APIs that take Math.random's shape. */
  asFunction (): () => number {
    return () => this.next()
  }
}
