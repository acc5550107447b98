/**
 * A bounded map for high-churn caches: two generations of at most
 * capacity/2 entries; when the young one fills it becomes the old one and the
 * previous old one is dropped whole. A read of an old entry moves it to the
 * young generation, so recently used entries survive like in an LRU. Every
 * operation is O(1) with no iteration (an LRU that evicts through
 * `map.keys().next()` slows down badly after many deletions in V8).
 */
export class GenerationalCache<K, V> {
  readonly #half: number
  #young = new Map<K, V>()
  #old = new Map<K, V>()

  constructor (capacity: number) {
    this.#half = Math.max(1, Math.floor(capacity / 2))
  }

  get (key: K): V | undefined {
    const v = this.#young.get(key)
    if (v !== undefined) return v
    const old = this.#old.get(key)
    if (old !== undefined) this.set(key, old)
    return old
  }

  has (key: K): boolean {
    return this.#young.has(key) || this.#old.has(key)
  }

  set (key: K, value: V): void {
    this.#young.set(key, value)
    if (this.#young.size >= this.#half) {
      this.#old = this.#young
      this.#young = new Map()
    }
  }

  delete (key: K): void {
    this.#young.delete(key)
    this.#old.delete(key)
  }

  get size (): number {
    return this.#young.size + this.#old.size
  }
}

/** Bytes (a hash) as a short string, two bytes per UTF-16 unit: a cheap Map key. */
export function bytesKey (h: Uint8Array): string {
  let s = ''
  for (let i = 0; i + 1 < h.length; i += 2) s += String.fromCharCode(h[i] | (h[i + 1] << 8))
  return h.length % 2 === 1 ? s + String.fromCharCode(h[h.length - 1]) : s
}
