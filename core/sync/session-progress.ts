/**
 * How far a reconciliation session has got, for `monoidb status` (README "Catch-up progress"): the keys
 * known to differ so far, the keys received and sent, and the bytes both ways. A session learns what
 * differs as it narrows ranges down, so `keysDiffering` is a lower bound that grows: the keys named by
 * either side as different (deltas and summaries exchanged) or, if larger, how many more keys the
 * peer's ranges hold than ours. Counting costs a set insert per key, bounded per session.
 */
import type { PeerId } from './types.ts'

/** Keys remembered by name per session; past it, keys are counted without telling repeats apart. */
export const PROGRESS_KEYS_KEPT = 100_000

/** One running session, as `engine.sessionsProgress()` reports it. */
export interface SessionProgress {
  peer: PeerId
  /** `initiator`: we started it; `responder`: the peer did. */
  role: 'initiator' | 'responder'
  /** We started it to pull a catch-up from a peer ahead of us. */
  pull: boolean
  startedAt: number
  /** Keys known to differ between the two peers so far (a lower bound that grows as the session learns). */
  keysDiffering: number
  /** Distinct keys whose deltas arrived from the peer in this session. */
  keysReceived: number
  /** Distinct keys whose deltas we sent the peer in this session. */
  keysSent: number
  /** Keys known to differ whose deltas went neither way yet. */
  keysPending: number
  /** Session messages received from and sent to the peer (requests and acks). */
  bytesIn: number
  bytesOut: number
  /** The peer's requests received, and those it announced (in its acks) that have not arrived yet: a pull learns its size this way. */
  requestsIn: number
  requestsDue: number
}

const RECEIVED = 1
const SENT = 2

export class ProgressCounter {
  readonly startedAt: number
  bytesIn = 0
  bytesOut = 0
  /** Each key named as different, with whether its deltas were received and sent (bits). */
  readonly #keys = new Map<string, number>()
  /** Counts of #keys (and of keys past the bound, which are counted without telling repeats apart). */
  #named = 0
  #received = 0
  #sent = 0
  #exchanged = 0
  /** Keys the peer's ranges showed it holds beyond ours (the largest figure of one request). */
  #gap = 0

  constructor (now: number) {
    this.startedAt = now
  }

  /** Keys named as different (summaries exchanged). */
  differ (keys: Iterable<string>): void {
    for (const k of keys) this.#mark(k, 0)
  }

  /**
   * The peer's ranges in one request hold `n` more keys than ours: at least that many differ. The largest
   * such figure is kept, not the sum: later requests narrow down ranges counted already.
   */
  gap (n: number): void {
    if (n > this.#gap) this.#gap = n
  }

  received (keys: Iterable<string>): void {
    for (const k of keys) this.#mark(k, RECEIVED)
  }

  sent (keys: Iterable<string>): void {
    for (const k of keys) this.#mark(k, SENT)
  }

  /**
   * Whether the session found a differing key `known` does not accept: a key named as different, keys the
   * peer's ranges hold beyond ours, or keys past the bound (their names were not kept).
   */
  foundBeyond (known: (key: string) => boolean): boolean {
    if (this.#gap > 0 || this.#named > this.#keys.size) return true
    for (const k of this.#keys.keys()) if (!known(k)) return true
    return false
  }

  /** Keys known to differ and not yet exchanged either way. */
  get pending (): number {
    return Math.max(this.#named, this.#gap) - this.#exchanged
  }

  snapshot (peer: PeerId, role: 'initiator' | 'responder', pull: boolean, requests = { in: 0, due: 0 }): SessionProgress {
    return {
      peer,
      role,
      pull,
      startedAt: this.startedAt,
      keysDiffering: Math.max(this.#named, this.#gap),
      keysReceived: this.#received,
      keysSent: this.#sent,
      keysPending: this.pending,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      requestsIn: requests.in,
      requestsDue: requests.due
    }
  }

  #mark (k: string, bit: number): void {
    const had = this.#keys.get(k)
    if (had === undefined && this.#keys.size >= PROGRESS_KEYS_KEPT) {
      // Past the bound: counted as a new key each time.
      this.#named++
      if (bit !== 0) this.#exchanged++
      if (bit === RECEIVED) this.#received++
      if (bit === SENT) this.#sent++
      return
    }
    const was = had ?? 0
    if (had === undefined) this.#named++
    if ((was & bit) === bit && had !== undefined) return
    const now = was | bit
    this.#keys.set(k, now)
    if (was === 0 && now !== 0) this.#exchanged++
    if (bit === RECEIVED) this.#received++
    if (bit === SENT) this.#sent++
  }
}
