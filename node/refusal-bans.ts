/**
 * Peers banned for floods of refused input, like one sending bad frames
 * (node/sync-streams.ts): hung up on and refused for the ban's length. Each
 * refusal is cheap, but a flood of them still costs reading, decrypting and
 * decoding, which a gossip score alone never stops (a graylisted peer's RPCs
 * are still read). Counted, each within WINDOW_MS:
 * - `sessions`: session openings refused past the peer's limit (PROTOCOL.md
 *   §10), REFUSALS of them. An honest peer opens about one session per
 *   anti-entropy period and is never refused for sessions. Refusals for bytes
 *   or unacked answers are not counted: an honest peer catching up on much data
 *   meets those, and its requests are merely delayed.
 * - `rejected`: gossip messages this peer delivered that we rejected (not a
 *   message of their topic, or a push its contract refuses), REJECTS of them.
 *   An honest peer validates what it forwards and never delivers one.
 */
export const REFUSALS = 100
/** Three: by the third, gossipsub has graylisted the peer (−20 × 3², under −80) and reads none of its RPCs, so more are never seen. */
export const REJECTS = 3
export const WINDOW_MS = 10_000
const LIMITS: Record<string, number> = { sessions: REFUSALS, rejected: REJECTS }
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

  /** Input of the peer was refused for `what` (core/sync/peer-budget.ts's Misbehaviour, or 'rejected' for gossip). */
  refused (peer: string, what: string, now = Date.now()): void {
    const limit = LIMITS[what]
    if (limit === undefined) return
    const id = `${what}\0${peer}`
    let p = this.#peers.get(id)
    this.#peers.delete(id)
    if (p === undefined || now - p.since > WINDOW_MS) p = { count: 0, since: now }
    p.count++
    this.#peers.set(id, p)
    if (this.#peers.size > MAX_PEERS) this.#peers.delete(this.#peers.keys().next().value as string)
    if (p.count < limit) return
    this.#peers.delete(id)
    this.bans++
    this.#ban(peer)
  }
}
