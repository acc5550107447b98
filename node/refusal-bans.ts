/**
 * A peer that keeps opening sessions past its limit (PROTOCOL.md §10) is
 * banned like one sending bad frames (node/sync-streams.ts): hung up on and
 * refused for the ban's length. Each refused request is cheap, but a flood of
 * them still costs decoding and bookkeeping, and they come over streams that
 * gossip scores do not close. An honest peer opens about one session per
 * anti-entropy period and is never refused for sessions, so REFUSALS within
 * WINDOW_MS is far from anything it does. Refusals for bytes or unacked
 * answers are not counted: an honest peer catching up on much data meets
 * those, and its requests are merely delayed.
 */
export const REFUSALS = 100
export const WINDOW_MS = 10_000
/** Peers whose refusals are remembered. */
const MAX_PEERS = 1024

export class RefusalBans {
  readonly #ban: (peer: string) => void
  readonly #peers = new Map<string, { count: number, since: number }>()
  /** Bans made. */
  bans = 0

  constructor (ban: (peer: string) => void) {
    this.#ban = ban
  }

  /** A request of the peer was refused for `what` (core/sync/peer-budget.ts's Misbehaviour). */
  refused (peer: string, what: string, now = Date.now()): void {
    if (what !== 'sessions') return
    let p = this.#peers.get(peer)
    this.#peers.delete(peer)
    if (p === undefined || now - p.since > WINDOW_MS) p = { count: 0, since: now }
    p.count++
    this.#peers.set(peer, p)
    if (this.#peers.size > MAX_PEERS) this.#peers.delete(this.#peers.keys().next().value as string)
    if (p.count < REFUSALS) return
    this.#peers.delete(peer)
    this.bans++
    this.#ban(peer)
  }
}
