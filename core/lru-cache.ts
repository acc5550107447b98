/** A least-recently-used map of at most `capacity` entries (a Map keeps insertion order; a hit moves the entry to the end). */
export class LruCache<K, V> {
  readonly #map = new Map<K, V>()
  readonly capacity: number

  constructor (capacity: number) {
    this.capacity = capacity
  }

  get (key: K): V | undefined {
    const v = this.#map.get(key)
    if (v !== undefined) {
      this.#map.delete(key)
      this.#map.set(key, v)
    }
    return v
  }

  /** The entry, without making it the most recently used. */
  peek (key: K): V | undefined {
    return this.#map.get(key)
  }

  has (key: K): boolean {
    return this.#map.has(key)
  }

  set (key: K, value: V): void {
    this.#map.delete(key)
    this.#map.set(key, value)
    if (this.#map.size > this.capacity) {
      const oldest = this.#map.keys().next()
      if (oldest.done !== true) this.#map.delete(oldest.value)
    }
  }

  delete (key: K): void {
    this.#map.delete(key)
  }

  clear (): void {
    this.#map.clear()
  }

  get size (): number {
    return this.#map.size
  }
}
