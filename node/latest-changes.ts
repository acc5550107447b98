/**
 * Each key's latest change number, in change order: set(key, n) with n
 * growing, the oldest taken off the front, the keys changed after some n
 * listed in order. A Map re-inserted on every change cannot do this cheaply:
 * deleted entries stay in its table until it rehashes, so reading its first
 * entry costs up to its capacity (100 µs a change at 100,000 keys, measured).
 * Here every change is appended to a log; entries a later change of the same
 * key made stale are skipped when met and dropped when the log compacts, so
 * each operation is amortised O(1) and the log holds at most about twice the
 * live entries.
 */
export class LatestChanges {
  readonly #latest = new Map<string, number>()
  #keys: string[] = []
  #ns: number[] = []
  #head = 0

  get size (): number { return this.#latest.size }

  get (key: string): number | undefined {
    return this.#latest.get(key)
  }

  /** Records that `key` changed at `n` (greater than any n before). */
  set (key: string, n: number): void {
    this.#latest.set(key, n)
    this.#keys.push(key)
    this.#ns.push(n)
    if (this.#keys.length - this.#head > 2 * this.#latest.size + 1024) this.#compact()
  }

  /** Removes and returns the key whose latest change is the oldest. */
  shift (): [string, number] | undefined {
    while (this.#head < this.#keys.length) {
      const key = this.#keys[this.#head]
      const n = this.#ns[this.#head]
      this.#head++
      if (this.#latest.get(key) !== n) continue // changed again later: that entry counts
      this.#latest.delete(key)
      if (this.#head > 1024 && this.#head * 2 > this.#keys.length) this.#compact()
      return [key, n]
    }
    return undefined
  }

  /** Keys whose latest change is after `n`, with it, oldest first. */
  since (n: number): Array<[string, number]> {
    // The log is in n order: binary search for the first entry after n.
    let lo = this.#head
    let hi = this.#keys.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.#ns[mid] > n) hi = mid
      else lo = mid + 1
    }
    const out: Array<[string, number]> = []
    for (let i = lo; i < this.#keys.length; i++) {
      if (this.#latest.get(this.#keys[i]) === this.#ns[i]) out.push([this.#keys[i], this.#ns[i]])
    }
    return out
  }

  /** Drops taken and stale entries from the log. */
  #compact (): void {
    const keys: string[] = []
    const ns: number[] = []
    for (let i = this.#head; i < this.#keys.length; i++) {
      if (this.#latest.get(this.#keys[i]) === this.#ns[i]) { keys.push(this.#keys[i]); ns.push(this.#ns[i]) }
    }
    this.#keys = keys
    this.#ns = ns
    this.#head = 0
  }
}
