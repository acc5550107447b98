/**
 * Virtual time: a queue of events ordered by time, then by the order they were
 * scheduled, so two runs with the same inputs fire events in the same order.
 * Nothing here waits on real time; `pop` jumps the clock to the next event.
 */

export interface QueuedEvent<E> { at: number, seq: number, event: E }

export class ClockQueue<E> {
  #now = 0
  #seq = 0
  readonly #heap: Array<QueuedEvent<E>> = []

  /** The current virtual time (ms). */
  get now (): number { return this.#now }

  get size (): number { return this.#heap.length }

  /** Schedules `event` at `at` (never earlier than now). */
  schedule (at: number, event: E): void {
    if (!Number.isFinite(at)) throw new RangeError(`event time must be finite, got ${at}`)
    const item = { at: Math.max(at, this.#now), seq: this.#seq++, event }
    const h = this.#heap
    h.push(item)
    let i = h.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(h[i], h[parent])) break
      ;[h[i], h[parent]] = [h[parent], h[i]]
      i = parent
    }
  }

  /** Time of the next event, or undefined when none is queued. */
  peekTime (): number | undefined {
    return this.#heap[0]?.at
  }

  /** Removes the next event and moves the clock to its time. */
  pop (): QueuedEvent<E> | undefined {
    const h = this.#heap
    if (h.length === 0) return undefined
    const top = h[0]
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1; const r = l + 1
        let m = i
        if (l < h.length && before(h[l], h[m])) m = l
        if (r < h.length && before(h[r], h[m])) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m], h[i]]
        i = m
      }
    }
    this.#now = top.at
    return top
  }

  /** Moves the clock forward to `at` with no event (e.g. the end of a quiet period). */
  advanceTo (at: number): void {
    const next = this.peekTime()
    if (next !== undefined && next < at) throw new RangeError(`cannot advance to ${at}: an event is queued at ${next}`)
    this.#now = Math.max(this.#now, at)
  }
}

function before<E> (a: QueuedEvent<E>, b: QueuedEvent<E>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
