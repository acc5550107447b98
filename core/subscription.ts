/**
 * One subscriber's stream of committed changes to a key: an async iterator fed
 * by the store after each commit. Stop it with `return()` (a `break` out of
 * for-await does that) or an AbortSignal. A subscriber that falls behind by
 * more than `maxBuffered` changes loses the oldest: each change carries the
 * whole value, so the newest one still tells the current truth.
 */
import type { JsonObject, JsonValue } from './json.ts'

/** How the store names the contract a key is bound to; `version`: the contract's, if it declares one (none: unversioned). */
export interface BoundRef { id: string, params?: JsonObject, version?: string }

export interface Change {
  key: string
  contract: BoundRef
  /** The key's value right after this change was committed. */
  value: JsonValue
  /** An owned key's owner and current writers, as of this change (core/envelope/ accessOf). */
  owner?: string
  writers?: string[]
  /** 'local' for this replica's updates, else the origin passed to mergeRemote (a peer id). */
  origin: string
  /** A local change's write id, `REPLICA/SEQ` (core/write-id.ts). */
  write?: string
  /** A remote change's: the ids of the writes it brought, where known ([] when unknown). */
  writes?: string[]
}

export const DEFAULT_MAX_BUFFERED = 1024

/** `map`: how each change is shown to this subscriber (a node shows owned keys as apps named them). */
export interface SubscribeOptions { signal?: AbortSignal, maxBuffered?: number, onEnd?: () => void, map?: (change: Change) => Change }

export class Subscription implements AsyncIterableIterator<Change> {
  readonly #buffer: Change[] = []
  readonly #maxBuffered: number
  readonly #onEnd: () => void
  readonly #waiting: Array<(r: IteratorResult<Change>) => void> = []
  readonly #map: ((change: Change) => Change) | undefined
  #ended = false
  #dropped = 0

  constructor (onEnd: () => void, options: { signal?: AbortSignal, maxBuffered?: number, map?: (change: Change) => Change } = {}) {
    this.#onEnd = onEnd
    this.#map = options.map
    this.#maxBuffered = options.maxBuffered ?? DEFAULT_MAX_BUFFERED
    const signal = options.signal
    if (signal !== undefined) {
      if (signal.aborted) queueMicrotask(() => { this.end() })
      else signal.addEventListener('abort', () => { this.end() }, { once: true })
    }
  }

  /** Changes dropped because this subscriber fell behind. */
  get dropped (): number { return this.#dropped }

  get ended (): boolean { return this.#ended }

  /** Changes waiting to be read: 0 after a read means it returned the newest change emitted so far. */
  get buffered (): number { return this.#buffer.length }

  push (change: Change): void {
    if (this.#ended) return
    if (this.#map !== undefined) change = this.#map(change)
    const waiting = this.#waiting.shift()
    if (waiting !== undefined) {
      waiting({ value: change, done: false })
      return
    }
    this.#buffer.push(change)
    if (this.#buffer.length > this.#maxBuffered) {
      this.#buffer.shift()
      this.#dropped++
    }
  }

  /** Stops the stream: a pending next() resolves as done, buffered changes are discarded. */
  end (): void {
    if (this.#ended) return
    this.#ended = true
    this.#buffer.length = 0
    for (const waiting of this.#waiting.splice(0)) waiting({ value: undefined, done: true })
    this.#onEnd()
  }

  async next (): Promise<IteratorResult<Change>> {
    const change = this.#buffer.shift()
    if (change !== undefined) return { value: change, done: false }
    if (this.#ended) return { value: undefined, done: true }
    return await new Promise(resolve => { this.#waiting.push(resolve) })
  }

  async return (): Promise<IteratorResult<Change>> {
    this.end()
    return { value: undefined, done: true }
  }

  [Symbol.asyncIterator] (): this {
    return this
  }
}

/** Every key's subscribers: hands each committed change to those of its key. */
export class Subscribers {
  readonly #byKey = new Map<string, Set<Subscription>>()

  /** `onEnd`: called once when the subscription ends, however it ends. */
  add (key: string, options: SubscribeOptions): Subscription {
    let set = this.#byKey.get(key)
    if (set === undefined) this.#byKey.set(key, set = new Set())
    const subs = set
    const sub: Subscription = new Subscription(() => {
      subs.delete(sub)
      if (subs.size === 0 && this.#byKey.get(key) === subs) this.#byKey.delete(key)
      options.onEnd?.()
    }, options)
    subs.add(sub)
    return sub
  }

  /** True if anyone listens to `key` (so the caller need not compute views for nobody). */
  has (key: string): boolean {
    return this.#byKey.has(key)
  }

  /** Delivers `change()` to the key's subscribers; a change that cannot be computed is skipped. */
  emit (key: string, change: () => Change): void {
    const subs = this.#byKey.get(key)
    if (subs === undefined) return
    let c: Change
    try {
      c = change()
    } catch {
      return // a view() that throws is the contract's bug; get() surfaces it
    }
    for (const sub of [...subs]) sub.push(c)
  }

  endAll (): void {
    for (const set of [...this.#byKey.values()]) for (const sub of [...set]) sub.end()
  }
}
