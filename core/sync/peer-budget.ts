/**
 * What one peer may make us do in sessions (PROTOCOL.md §10, "Per-peer
 * limits"). A 23-byte request once made a daemon send its whole store, and a
 * fresh session id made it do so again, so each peer has:
 * - a session bucket: the sessions it may open with us, `peerSessionsPerPeriod`
 *   per anti-entropy period, twice that at once;
 * - a byte bucket: what our answers to it (and their resends) may cost,
 *   `peerBytesPerSec` a second, one second's worth at once. An answer is
 *   computed only while the bucket holds bytes, and only as much of it as the
 *   bucket holds (at least one message); what was sent is charged after, so
 *   the bucket may go into debt by one message. Resends wait while it is in
 *   debt.
 * Memory held for unacked answers is counted by the sessions themselves
 * (session.ts) and bounded by `peerUnackedBytes`.
 *
 * An honest peer opens about one session a period and acks what it gets, so
 * it stays far inside these; a request refused now is sent again by its
 * sender's retransmission. Time comes from the callers (`now`): the engine
 * stays deterministic. Buckets of at most MAX_PEERS peers are kept; a peer
 * forgotten starts again with full buckets.
 */
import type { PeerId } from './types.ts'

/** Why a peer's input was refused or counted against it. */
export type Misbehaviour =
  /** It opened sessions faster than `peerSessionsPerPeriod`. */
  | 'sessions'
  /** Our answers to it used up `peerBytesPerSec`. */
  | 'bytes'
  /** It leaves more than `peerUnackedBytes` of our answers unacked. */
  | 'unacked'
  /** It sent bytes that are not a message. */
  | 'bad_message'

export interface PeerCost {
  /** Requests refused, by reason. */
  refused: Record<Exclude<Misbehaviour, 'bad_message'>, number>
  badMessages: number
  /** Bytes of answers and resends sent to it. */
  bytesCharged: number
}

export interface PeerLimits {
  sessionsPerPeriod: number
  periodMs: number
  bytesPerSec: number
}

/** Peers whose buckets are remembered. */
export const MAX_PEERS = 1024

/** A token bucket refilled lazily from the times it is given (time never runs backwards for it). */
export class TokenBucket {
  readonly capacity: number
  readonly #perMs: number
  #tokens: number
  #at: number

  constructor (capacity: number, perMs: number, now: number) {
    this.capacity = capacity
    this.#perMs = perMs
    this.#tokens = capacity
    this.#at = now
  }

  level (now: number): number {
    if (now > this.#at) {
      this.#tokens = Math.min(this.capacity, this.#tokens + (now - this.#at) * this.#perMs)
      this.#at = now
    }
    return this.#tokens
  }

  /** Takes `n` tokens if there are that many. */
  take (n: number, now: number): boolean {
    if (this.level(now) < n) return false
    this.#tokens -= n
    return true
  }

  /** Takes `n` tokens, going into debt if there are fewer. */
  charge (n: number, now: number): void {
    this.level(now)
    this.#tokens -= n
  }
}

interface PeerState { sessions: TokenBucket, bytes: TokenBucket, cost: PeerCost }

export class PeerBudgets {
  readonly #limits: PeerLimits
  /** In least recently used order (a Map keeps insertion order; a use moves the peer to the end). */
  readonly #peers = new Map<PeerId, PeerState>()

  constructor (limits: PeerLimits) {
    this.#limits = limits
  }

  /** Takes one of the peer's session openings; false if it has none left. */
  openSession (peer: PeerId, now: number): boolean {
    return this.#of(peer, now).sessions.take(1, now)
  }

  /** The bytes our next answer to the peer may cost (≤ 0: answer nothing now). */
  allowance (peer: PeerId, now: number): number {
    return this.#of(peer, now).bytes.level(now)
  }

  /** Counts bytes sent to the peer against its budget. */
  charge (peer: PeerId, bytes: number, now: number): void {
    if (bytes <= 0) return
    const s = this.#of(peer, now)
    s.bytes.charge(bytes, now)
    s.cost.bytesCharged += bytes
  }

  /** Whether the peer has spent its bytes for now (resends to it wait). */
  inDebt (peer: PeerId, now: number): boolean {
    const s = this.#peers.get(peer)
    return s !== undefined && s.bytes.level(now) <= 0
  }

  /** Counts a refusal or a bad message against the peer. */
  count (peer: PeerId, what: Misbehaviour, now: number): void {
    const cost = this.#of(peer, now).cost
    if (what === 'bad_message') cost.badMessages++
    else cost.refused[what]++
  }

  /** What each remembered peer has cost, for those refused or sent bad messages. */
  costs (): Record<PeerId, PeerCost> {
    const out: Record<PeerId, PeerCost> = {}
    for (const [peer, s] of this.#peers) {
      const c = s.cost
      if (c.badMessages + c.refused.sessions + c.refused.bytes + c.refused.unacked > 0) out[peer] = { ...c, refused: { ...c.refused } }
    }
    return out
  }

  #of (peer: PeerId, now: number): PeerState {
    let s = this.#peers.get(peer)
    if (s !== undefined) {
      this.#peers.delete(peer)
    } else {
      const { sessionsPerPeriod, periodMs, bytesPerSec } = this.#limits
      s = {
        sessions: new TokenBucket(2 * sessionsPerPeriod, sessionsPerPeriod / Math.max(1, periodMs), now),
        bytes: new TokenBucket(bytesPerSec, bytesPerSec / 1000, now),
        cost: { refused: { sessions: 0, bytes: 0, unacked: 0 }, badMessages: 0, bytesCharged: 0 }
      }
      if (this.#peers.size >= MAX_PEERS) this.#peers.delete(this.#peers.keys().next().value as PeerId)
    }
    this.#peers.set(peer, s)
    return s
  }
}
