/**
 * The daemon's event ids: `<storeEpoch>:<n>`. `n` counts committed key changes
 * (one per key per store commit, local or remote), one counter for the whole
 * daemon, so an id read from any event stream says "I have seen everything up
 * to n". The counter lives in memory: `storeEpoch` is a random value drawn at
 * each start, so an id from an earlier run (whose n meant other changes) is
 * recognised as foreign instead of being trusted.
 *
 * To resume, it remembers the n of the last change of up to `limit` keys
 * (100,000 by default, least recently changed forgotten first). Resuming from
 * an id is exact while no key that changed after it has been forgotten, that is
 * while n ≥ `floor`; an older id gets the current value of everything instead.
 */
import { randomBytes } from 'node:crypto'
import { LatestChanges } from './latest-changes.ts'

export const DEFAULT_REMEMBERED_KEYS = 100_000

export interface EventId { epoch: string, n: number }

export class ChangeCounter {
  /** Drawn at start: ids of another run carry another epoch. */
  readonly epoch: string
  readonly limit: number
  #last = 0
  #floor = 0
  /** key → n of its last change, in change order. */
  readonly #lastChange = new LatestChanges()
  readonly #listeners = new Set<(key: string, n: number) => void>()

  constructor (options: { limit?: number, epoch?: string } = {}) {
    this.limit = options.limit ?? DEFAULT_REMEMBERED_KEYS
    if (!Number.isSafeInteger(this.limit) || this.limit < 1) throw new RangeError(`remembered keys must be a whole number ≥ 1, got ${this.limit}`)
    this.epoch = options.epoch ?? randomBytes(8).toString('hex')
  }

  /** The newest n (0 before any change). */
  get last (): number { return this.#last }
  /** Ids with n below this cannot be resumed exactly (a key changed after them was forgotten). */
  get floor (): number { return this.#floor }

  id (n: number): string {
    return `${this.epoch}:${n}`
  }

  /** Counts a committed change of `key`; listeners hear it synchronously. */
  changed (key: string): number {
    const n = ++this.#last
    this.#lastChange.set(key, n)
    if (this.#lastChange.size > this.limit) this.#floor = this.#lastChange.shift()![1]
    for (const l of this.#listeners) l(key, n)
    return n
  }

  /** Whether changes after `n` of this epoch are all still known. */
  resumable (id: EventId): boolean {
    return id.epoch === this.epoch && id.n >= this.#floor && id.n <= this.#last
  }

  /** The n of `key`'s last change, if remembered (a forgotten one is older than floor). */
  lastChangeOf (key: string): number | undefined {
    return this.#lastChange.get(key)
  }

  /** Keys changed after `n` (with their last n), oldest change first. */
  changedSince (n: number): Array<[string, number]> {
    return this.#lastChange.since(n)
  }

  /** Calls `listener(key, n)` on every change from now on; returns the function that stops it. */
  subscribe (listener: (key: string, n: number) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }
}

/**
 * A Last-Event-ID header as an EventId: undefined if absent; an Error naming the problem if it is not
 * `<epoch>:<n>` (the caller answers 400).
 */
export function parseEventId (text: string | undefined): EventId | undefined | Error {
  if (text === undefined) return undefined
  const m = /^([0-9a-f]{1,32}):(0|[1-9][0-9]{0,15})$/.exec(text)
  const n = m === null ? NaN : Number(m[2])
  if (m === null || !Number.isSafeInteger(n)) return new Error(`Last-Event-ID ${JSON.stringify(text.slice(0, 80))} is not an event id of this API: <epoch>:<n>, as sent in an event's id: field`)
  return { epoch: m[1], n }
}
