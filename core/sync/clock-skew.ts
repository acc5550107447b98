/**
 * Per-peer clock skew, estimated from the stamps a peer sends (sans I/O).
 *
 * The merger reports, for each delta from a peer that changed our store, the
 * greatest wall-clock stamp it carries (Contract.stampOf) and our clock at
 * that moment. A stamp is at most its writer's clock when it wrote (plus the
 * writer's HLC bound, if it held a stamp from further ahead), and a fresh
 * write is pushed at once, so the greatest `stamp − now` a peer sent lately
 * is how far ahead of ours its clock runs, less the network delay. Old data
 * it relays gives smaller values, which the maximum ignores. So the estimate:
 *
 *   aheadMs = max(stamp − now) over the peer's samples of the last one or two windows
 *
 * Positive: the peer (or a writer whose data it relayed) stamps ahead of our
 * clock by at least that much. Zero or negative: no sign of a fast clock (a
 * slow clock cannot be told apart from old data). Samples expire, so a clock
 * that was fixed stops being reported within two windows. At most `maxPeers`
 * peers are tracked; the one heard from least recently makes room.
 */
import type { PeerId } from './types.ts'

export interface ClockSkew {
  peer: PeerId
  /** Greatest (stamp − our clock) in ms among the peer's recent samples. */
  aheadMs: number
  /** Samples it is based on (this window and the previous one). */
  samples: number
  /** Our clock (ms) at the latest sample. */
  lastAt: number
}

export interface ClockSkewOptions {
  /** Length of a sample window in ms (default 5 minutes). */
  windowMs?: number
  /** Peers tracked at most (default 1024). */
  maxPeers?: number
}

interface Window { start: number, ahead: number, samples: number }
interface PeerSkew { current: Window, previous: Window | undefined, lastAt: number }

export class ClockSkewTracker {
  readonly #windowMs: number
  readonly #maxPeers: number
  /** In order of last sample, oldest first (a Map keeps insertion order; a sample re-inserts). */
  readonly #peers = new Map<PeerId, PeerSkew>()

  constructor ({ windowMs = 5 * 60_000, maxPeers = 1024 }: ClockSkewOptions = {}) {
    if (!(windowMs > 0) || !Number.isSafeInteger(maxPeers) || maxPeers < 1) throw new TypeError('ClockSkewTracker needs windowMs > 0 and maxPeers ≥ 1')
    this.#windowMs = windowMs
    this.#maxPeers = maxPeers
  }

  /** Records that `peer` sent a state whose greatest stamp is `stamp`, received when our clock read `now`. */
  observe (peer: PeerId, stamp: number, now: number): void {
    if (!Number.isFinite(stamp) || !Number.isFinite(now)) return
    const ahead = stamp - now
    let p = this.#peers.get(peer)
    if (p !== undefined) this.#peers.delete(peer)
    else if (this.#peers.size >= this.#maxPeers) this.#peers.delete(this.#peers.keys().next().value as PeerId)
    if (p === undefined) p = { current: { start: now, ahead, samples: 0 }, previous: undefined, lastAt: now }
    this.#roll(p, now)
    p.current.ahead = p.current.samples === 0 ? ahead : Math.max(p.current.ahead, ahead)
    p.current.samples++
    p.lastAt = now
    this.#peers.set(peer, p)
  }

  /** The estimate for every peer with a recent sample, furthest ahead first. */
  estimates (now: number): ClockSkew[] {
    const out: ClockSkew[] = []
    for (const [peer, p] of this.#peers) {
      this.#roll(p, now)
      const windows = [p.current, p.previous].filter((w): w is Window => w !== undefined && w.samples > 0)
      if (windows.length === 0) { this.#peers.delete(peer); continue }
      out.push({ peer, aheadMs: Math.max(...windows.map(w => w.ahead)), samples: windows.reduce((n, w) => n + w.samples, 0), lastAt: p.lastAt })
    }
    return out.sort((a, b) => b.aheadMs - a.aheadMs || (a.peer < b.peer ? -1 : 1))
  }

  /** Drops what is known of `peer`. */
  forget (peer: PeerId): void {
    this.#peers.delete(peer)
  }

  /** Starts a new window when the current one is over; one more over and the old samples are gone. */
  #roll (p: PeerSkew, now: number): void {
    const age = now - p.current.start
    if (age < this.#windowMs) return
    p.previous = age < 2 * this.#windowMs ? p.current : undefined
    p.current = { start: now, ahead: 0, samples: 0 }
  }
}
