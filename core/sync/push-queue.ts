/**
 * Keys changed locally and not pushed yet, each with the item hash it had
 * before its first unpushed change (null: unknown or absent). When the window
 * opened by the first change passes, the engine pushes, per key, what it
 * gained since that base: one item however many writes the window saw, so a
 * burst of writes is a burst of neither items nor messages.
 */
export class PushQueue {
  readonly #windowMs: number
  #dirty = new Map<string, Uint8Array | null>()
  #due: number | undefined

  constructor (windowMs: number) {
    this.#windowMs = windowMs
  }

  /** When the open window closes, or undefined if nothing waits. */
  get due (): number | undefined { return this.#due }

  add (key: string, base: Uint8Array | null, now: number): void {
    if (!this.#dirty.has(key)) this.#dirty.set(key, base)
    this.#due ??= now + this.#windowMs
  }

  /** The waiting keys with their bases, if the window has passed. */
  takeDue (now: number): Map<string, Uint8Array | null> | undefined {
    if (this.#due === undefined || now < this.#due) return undefined
    const dirty = this.#dirty
    this.#dirty = new Map()
    this.#due = undefined
    return dirty
  }
}
