/**
 * Keys changed locally and not pushed yet, each with the item hash it had
 * before its first unpushed change (null: unknown or absent). When the window
 * opened by the first change passes, the engine pushes, per key, what it
 * gained since that base: one item however many writes the window saw, so a
 * burst of writes is a burst of neither items nor messages.
 *
 * The window adapts: it is `windowMs` while writes are sparse, so one write
 * reaches peers soonest, and doubles (up to `maxWindowMs`) after each window
 * that saw BUSY_UPDATES writes or more: under load, fewer and fuller pushes,
 * and more writes to a key folded into one item, which every peer then merges
 * once. A window with fewer than QUIET_UPDATES writes brings it back.
 */
import { parseWriteId } from '../write-id.ts'
import type { ItemWrites } from './write-ranges.ts'

export const BUSY_UPDATES = 32
export const QUIET_UPDATES = 8

export class PushQueue {
  readonly #baseMs: number
  readonly #maxMs: number
  #windowMs: number
  #dirty = new Map<string, Uint8Array | null>()
  /** Per waiting key, the local writes it saw in this window (ids consecutive under one replica id), with the first one's time. */
  #writes = new Map<string, ItemWrites>()
  #taken = new Map<string, ItemWrites>()
  #updates = 0
  #due: number | undefined

  constructor (windowMs: number, maxWindowMs = windowMs) {
    this.#baseMs = windowMs
    this.#maxMs = Math.max(windowMs, maxWindowMs)
    this.#windowMs = windowMs
  }

  /** When the open window closes, or undefined if nothing waits. */
  get due (): number | undefined { return this.#due }

  /** The length of the next window to open (ms). */
  get windowMs (): number { return this.#windowMs }

  /** `write`: the write's id (REPLICA/SEQ), if known: the push names the writes it carries. */
  add (key: string, base: Uint8Array | null, now: number, write?: string): void {
    if (!this.#dirty.has(key)) this.#dirty.set(key, base)
    const id = write === undefined ? undefined : parseWriteId(write)
    if (id !== undefined) {
      const w = this.#writes.get(key)
      if (w === undefined || w.replica !== id.replica) this.#writes.set(key, { replica: id.replica, first: id.seq, last: id.seq, writtenAt: Math.floor(now) })
      else w.last = Math.max(w.last, id.seq)
    }
    this.#updates++
    this.#due ??= now + this.#windowMs
  }

  /** The waiting keys with their bases, if the window has passed. */
  takeDue (now: number): Map<string, Uint8Array | null> | undefined {
    if (this.#due === undefined || now < this.#due) return undefined
    return this.takeAll()
  }

  /** The writes of the keys the last take returned (see add). */
  takenWrites (): ReadonlyMap<string, ItemWrites> {
    return this.#taken
  }

  /** The waiting keys with their bases, whether or not the window has passed (to send before stopping). */
  takeAll (): Map<string, Uint8Array | null> | undefined {
    if (this.#dirty.size === 0) return undefined
    const dirty = this.#dirty
    this.#taken = this.#writes
    this.#writes = new Map()
    if (this.#updates >= BUSY_UPDATES) this.#windowMs = Math.min(this.#maxMs, Math.max(1, this.#windowMs * 2))
    else if (this.#updates < QUIET_UPDATES) this.#windowMs = this.#baseMs
    this.#dirty = new Map()
    this.#updates = 0
    this.#due = undefined
    return dirty
  }
}
