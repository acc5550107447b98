/**
 * The keys a partial peer wants beside those it holds: each watched key (and
 * each key a read is waiting for) counted once per watcher, wanted while any
 * watcher remains. It is the `Interest` the sync engine consults
 * (core/sync/types.ts); a replicate-all node has none.
 */
import type { Interest } from '../core/sync/types.ts'

export class WantedKeys implements Interest {
  readonly #watchers = new Map<string, number>()

  add (key: string): void {
    this.#watchers.set(key, (this.#watchers.get(key) ?? 0) + 1)
  }

  release (key: string): void {
    const n = (this.#watchers.get(key) ?? 0) - 1
    if (n > 0) this.#watchers.set(key, n); else this.#watchers.delete(key)
  }

  wants (key: string): boolean {
    return this.#watchers.has(key)
  }

  wanted (): Iterable<string> {
    return this.#watchers.keys()
  }
}
