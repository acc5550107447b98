/**
 * Per-key serialization of writes. A write runs on the key's newest value; when
 * that value is in memory the write runs at once (synchronously), otherwise it
 * waits for a storage read, and later writes to the same key queue behind it,
 * so they run in call order and none works from a stale value.
 */
export class KeyQueue<T> {
  readonly #chains = new Map<string, Promise<void>>()

  /**
   * Runs `fn` on the key's value after every earlier run for the key: `peek()`
   * if it gives one, else what `load()` reads (undefined: the key is new).
   * `fn` must be synchronous: the queue covers computing a write, not committing it.
   */
  run<R> (key: string, peek: () => T | undefined, load: () => Promise<T | undefined>, fn: (value: T | undefined) => R): Promise<R> {
    const chain = this.#chains.get(key)
    if (chain === undefined) {
      const value = peek()
      if (value !== undefined) {
        try {
          return Promise.resolve(fn(value))
        } catch (err) {
          return Promise.reject(err)
        }
      }
    }
    const result = (chain ?? Promise.resolve()).then(async () => fn(peek() ?? await load()))
    const tail = result.then(() => {}, () => {})
    this.#chains.set(key, tail)
    void tail.then(() => { if (this.#chains.get(key) === tail) this.#chains.delete(key) })
    return result
  }

  /** Resolves when no run is waiting on a read. */
  async idle (): Promise<void> {
    while (this.#chains.size > 0) await Promise.all(this.#chains.values())
  }
}
