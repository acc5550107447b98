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
export const BUSY_UPDATES = 32
export const QUIET_UPDATES = 8

export class PushQueue {
  readonly #baseMs: number
  readonly #maxMs: number
  #windowMs: number
  #dirty = new Map<string, Uint8Array | null>()
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

  add (key: string, base: Uint8Array | null, now: number): void {
    if (!this.#dirty.has(key)) this.#dirty.set(key, base)
    this.#updates++
    this.#due ??= now + this.#windowMs
  }

  /** The waiting keys with their bases, if the window has passed. */
  takeDue (now: number): Map<string, Uint8Array | null> | undefined {
    if (this.#due === undefined || now < this.#due) return undefined
    return this.takeAll()
  }

  /** The waiting keys with their bases, whether or not the window has passed (to send before stopping). */
  takeAll (): Map<string, Uint8Array | null> | undefined {
    if (this.#dirty.size === 0) return undefined
    const dirty = this.#dirty
    if (this.#updates >= BUSY_UPDATES) this.#windowMs = Math.min(this.#maxMs, Math.max(1, this.#windowMs * 2))
    else if (this.#updates < QUIET_UPDATES) this.#windowMs = this.#baseMs
    this.#dirty = new Map()
    this.#updates = 0
    this.#due = undefined
    return dirty
  }
}
