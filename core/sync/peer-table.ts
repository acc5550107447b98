/**
 * What this peer believes about the others, from their own messages only:
 * each peer's last digest, and from it whom to reconcile with next.
 *
 * After a partition heals, every peer sees differing digests from many
 * others at once; if each started a full reconciliation at once, each
 * difference would be narrowed down and sent many times over. So:
 * - a peer whose digest is a past state of ours is *behind*: it lacks exactly
 *   what we changed since, which a catch-up sends with no narrowing down. We
 *   tell it so (an `ahead` message), and it pulls from one of the peers that
 *   told it, drawn at random; only if it does not come do we go to it;
 * - any other differing peer is a *candidate* for a full session, started at a
 *   random time within the next half period (jitter), so that the first
 *   sessions finish, and their peers catch the rest up, before most start.
 */
import { sameHash } from './key-index.ts'
import type { PeerId } from './types.ts'

/** A digest: the 16-byte hash of the accumulator of a whole key space's item hashes (lthash.ts). */
export type Digest = Uint8Array
interface Stamped { fp: Digest, at: number }
export interface Candidate extends Stamped { notBefore: number }

export class PeerTable {
  readonly #periodMs: number
  readonly #random: () => number
  /** Each peer's last digest, and whether we told it that it is behind us. */
  readonly #digests = new Map<PeerId, Stamped & { hinted: boolean }>()
  /** Peers to run a full session with, from when. */
  readonly #candidates = new Map<PeerId, Candidate>()
  /** Peers that told us our state (the fingerprint) is a past state of theirs. */
  readonly #ahead = new Map<PeerId, Stamped>()
  /** Peers behind us, since when: they should come to us. */
  readonly #behind = new Map<PeerId, number>()

  constructor (periodMs: number, random: () => number) {
    this.#periodMs = periodMs
    this.#random = random
  }

  /**
   * Takes the peer's digest. Returns whether to tell it that it is behind us (once per digest of it),
   * and makes it a candidate when it differs and is not behind us (or stayed behind for 1.5 periods).
   */
  digest (peer: PeerId, d: Digest, mine: Digest, behindUs: boolean, now: number): { hint: boolean } {
    this.#digests.set(peer, { fp: d, at: now, hinted: behindUs })
    if (sameHash(d, mine)) {
      this.#candidates.delete(peer)
      this.#behind.delete(peer)
      this.#ahead.delete(peer)
      return { hint: false }
    }
    if (behindUs) {
      const since = this.#behind.get(peer)
      if (since === undefined) this.#behind.set(peer, now)
      if (since === undefined || now - since < 1.5 * this.#periodMs) {
        this.#candidates.delete(peer)
        return { hint: true }
      }
    } else {
      this.#behind.delete(peer)
    }
    const notBefore = behindUs ? now : this.#candidates.get(peer)?.notBefore ?? now + this.#random() * this.#periodMs
    this.#candidates.set(peer, { fp: d, at: now, notBefore })
    return { hint: behindUs }
  }

  /** The peer says our state `d` is a past state of its own. */
  ahead (peer: PeerId, d: Digest, mine: Digest, now: number): void {
    if (sameHash(d, mine)) this.#ahead.set(peer, { fp: d, at: now })
  }

  /** Peers whose last (recent) digest is now a past state of ours and who were not told yet; marks them told. */
  newlyBehind (behindUs: (d: Digest) => boolean, now: number): PeerId[] {
    const out: PeerId[] = []
    for (const [peer, d] of this.#digests) {
      if (d.hinted || now - d.at > 2 * this.#periodMs || !behindUs(d.fp)) continue
      d.hinted = true
      if (!this.#behind.has(peer)) this.#behind.set(peer, now)
      this.#candidates.delete(peer)
      out.push(peer)
    }
    return out
  }

  /**
   * The next peer to start a session with, removed from the table: one that is ahead of our current
   * state if any (a pull: a catch-up), else a candidate whose start time has come; drawn at random.
   */
  next (mine: Digest, busy: (peer: PeerId) => boolean, now: number): { peer: PeerId, pull: boolean, digest: Digest } | undefined {
    const pulls = [...this.#ahead].filter(([p, h]) => sameHash(h.fp, mine) && !busy(p)).map(([p]) => p).sort()
    if (pulls.length > 0) {
      const peer = pulls[Math.floor(this.#random() * pulls.length)]
      const digest = this.#digests.get(peer)?.fp ?? mine
      this.#ahead.delete(peer)
      this.#candidates.delete(peer)
      return { peer, pull: true, digest }
    }
    const due = [...this.#candidates].filter(([p, c]) => c.notBefore <= now && !busy(p)).map(([p]) => p).sort()
    if (due.length === 0) return undefined
    const peer = due[Math.floor(this.#random() * due.length)]
    const c = this.#candidates.get(peer)!
    this.#candidates.delete(peer)
    return { peer, pull: false, digest: c.fp }
  }

  /** The earliest time `next` would return a peer (undefined: never, as things stand). */
  nextDue (mine: Digest, busy: (peer: PeerId) => boolean): number | undefined {
    let t: number | undefined
    for (const [p, a] of this.#ahead) if (sameHash(a.fp, mine) && !busy(p) && (t === undefined || a.at < t)) t = a.at
    for (const [p, c] of this.#candidates) if (!busy(p) && (t === undefined || c.notBefore < t)) t = c.notBefore
    return t
  }

  /** Our session with the peer just ended: what we knew of it predates what we exchanged. */
  settled (peer: PeerId): void {
    this.#candidates.delete(peer)
    this.#ahead.delete(peer)
  }

  /** Peers we hold a recent digest of. */
  get size (): number { return this.#digests.size }

  lastDigest (peer: PeerId): Digest | undefined {
    return this.#digests.get(peer)?.fp
  }

  behind (peer: PeerId): boolean {
    return this.#behind.has(peer)
  }

  isCandidate (peer: PeerId): boolean {
    return this.#candidates.has(peer)
  }

  forget (peer: PeerId): void {
    this.#candidates.delete(peer)
    this.#behind.delete(peer)
    this.#ahead.delete(peer)
    this.#digests.delete(peer)
  }

  /** Drops what is too old to act on. */
  expire (now: number): void {
    const p = this.#periodMs
    for (const [peer, c] of this.#candidates) if (now - c.at > 2 * p) this.#candidates.delete(peer)
    for (const [peer, a] of this.#ahead) if (now - a.at > 2 * p) this.#ahead.delete(peer)
    for (const [peer, at] of this.#behind) if (now - at > 4 * p) this.#behind.delete(peer)
    for (const [peer, d] of this.#digests) if (now - d.at > 4 * p) this.#digests.delete(peer)
  }
}
