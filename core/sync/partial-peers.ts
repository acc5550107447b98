/**
 * The bookkeeping of partial replication (partial-sync.ts uses both):
 *
 * PartialPeers: a partial peer cannot compare digests with anyone (theirs
 * cover keys it does not keep), so it reconciles by sending one neighbour the
 * summaries of its keys. A neighbour that keeps every key knows which keys we
 * hold (peer-scopes.ts) and tells us when it differs on them, so only those
 * are asked, in turn. Without such neighbours, each takes a turn, skipped
 * while neither its digest nor ours (nor the wanted keys we lack) changed
 * since our last session with it.
 *
 * WantAnswers: a peer holding a wanted key answers with its whole state, at
 * most once per key per asker per WANT_ANSWER_MS, within a budget of keys per
 * second over all askers.
 */
import { createHash } from 'node:crypto'
import { bytesKey } from './generational-cache.ts'
import type { PeerId } from './types.ts'

/** A key's state is sent to one asker (or published) at most once per this many ms in answer to wants. */
export const WANT_ANSWER_MS = 250
/** Answered keys remembered for rate limiting; past this the oldest are forgotten. */
const MAX_ANSWERED = 4096

export class PartialPeers {
  readonly #neighbours = new Set<PeerId>()
  /** Each neighbour's last digest (as a string). */
  readonly #digests = new Map<PeerId, string>()
  /** Our digest and the neighbour's when our last session with it began. */
  readonly #synced = new Map<PeerId, string>()
  /** Neighbours that keep every key: they tell us when they differ on ours (a `scope`), so we need not ask. */
  readonly #full = new Set<PeerId>()
  /** Full neighbours whose last `scope` said they differ from us on our keys. */
  readonly #differ = new Set<PeerId>()
  #turn = 0

  joined (peer: PeerId): void {
    this.#neighbours.add(peer)
    this.#synced.delete(peer)
  }

  left (peer: PeerId): void {
    this.#neighbours.delete(peer)
    this.#digests.delete(peer)
    this.#synced.delete(peer)
    this.#full.delete(peer)
    this.#differ.delete(peer)
  }

  isNeighbour (peer: PeerId): boolean {
    return this.#neighbours.has(peer)
  }

  /** A neighbour's digest; `full`: it keeps every key (its digest is not flagged partial). */
  digest (peer: PeerId, fp: Uint8Array, full = false): void {
    this.#neighbours.add(peer)
    this.#digests.set(peer, bytesKey(fp))
    if (full) this.#full.add(peer); else { this.#full.delete(peer); this.#differ.delete(peer) }
  }

  /** A full neighbour's digest over our keys: `same` if it equals ours. */
  scope (peer: PeerId, same: boolean): void {
    if (!this.#full.has(peer)) return
    if (same) this.#differ.delete(peer); else this.#differ.add(peer)
  }

  /**
   * The next neighbour to reconcile with, if any is due, and whether to send it the summaries of all our
   * keys (else only the wanted keys we lack, `lacking`). With full neighbours: one that said it differs
   * on our keys (all), else one whose digest or `lacking` changed since our last session with it while
   * we lack wanted keys (a holder may have gained one: only those). Without full neighbours: each
   * neighbour in turn, skipped while neither its digest nor ours nor `lacking` changed since (all).
   */
  next (mine: Uint8Array, busy: (peer: PeerId) => boolean, lacking: readonly string[] = []): { peer: PeerId, all: boolean } | undefined {
    const full = [...this.#full].filter(p => this.#neighbours.has(p))
    const wanted = lacking.length === 0 ? '' : createHash('sha256').update(lacking.join('\0')).digest('base64')
    const due = (ours: string) => (peer: PeerId): boolean => {
      const pair = `${ours}/${this.#digests.get(peer) ?? '?'}`
      if (busy(peer) || this.#synced.get(peer) === pair) return false
      this.#synced.set(peer, pair)
      return true
    }
    if (full.length === 0) {
      const peer = this.#take([...this.#neighbours], due(`${bytesKey(mine)}+${wanted}`))
      return peer === undefined ? undefined : { peer, all: true }
    }
    const differs = this.#take(full, peer => !busy(peer) && this.#differ.delete(peer))
    if (differs !== undefined) return { peer: differs, all: true }
    const peer = lacking.length === 0 ? undefined : this.#take(full, due(wanted))
    return peer === undefined ? undefined : { peer, all: false }
  }

  /** Whether the neighbour's last digest equals `mine`; undefined for a full neighbour or none heard. */
  sameDigest (peer: PeerId, mine: Uint8Array): boolean | undefined {
    const theirs = this.#digests.get(peer)
    return theirs === undefined || this.#full.has(peer) ? undefined : theirs === bytesKey(mine)
  }

  /** Our session with the peer failed: try it again at the next turn. */
  failed (peer: PeerId): void {
    this.#synced.delete(peer)
    if (this.#full.has(peer)) this.#differ.add(peer)
  }

  /** The first of `peers`, from the current turn on, that `pick` takes. */
  #take (peers: readonly PeerId[], pick: (peer: PeerId) => boolean): PeerId | undefined {
    for (let i = 0; i < peers.length; i++) {
      const peer = peers[(this.#turn + i) % peers.length]
      if (!pick(peer)) continue
      this.#turn = (this.#turn + i + 1) % peers.length
      return peer
    }
    return undefined
  }
}

/**
 * Keys answered per second at most, over all wants: a want costs its sender a few bytes and may cost
 * us a whole state per key, so a peer flooding wants must not turn us into an amplifier. What is
 * over the budget goes unanswered; a partial peer asks again the next period.
 */
export const WANT_ANSWER_KEYS_PER_SECOND = 4096

/**
 * Which wanted keys to answer now: those not answered (to the same asker; '' for everyone, a published
 * answer) within WANT_ANSWER_MS, within the per-second budget over all askers.
 */
export class WantAnswers {
  readonly #answered = new Map<string, number>()
  readonly #perSecond: number
  #budget: number
  #refilledAt = -Infinity

  constructor (perSecond = WANT_ANSWER_KEYS_PER_SECOND) {
    this.#perSecond = perSecond
    this.#budget = perSecond
  }

  take (keys: readonly string[], now: number, to = ''): string[] {
    // A token bucket holding at most one second's worth.
    if (now > this.#refilledAt) {
      this.#budget = Math.min(this.#perSecond, this.#budget + (now - this.#refilledAt) * this.#perSecond / 1000)
      this.#refilledAt = now
    }
    const id = (k: string): string => `${to}\0${k}`
    const out = keys.filter(k => now - (this.#answered.get(id(k)) ?? -Infinity) >= WANT_ANSWER_MS).slice(0, Math.floor(this.#budget))
    this.#budget -= out.length
    for (const k of out) {
      this.#answered.delete(id(k))
      this.#answered.set(id(k), now)
    }
    while (this.#answered.size > MAX_ANSWERED) this.#answered.delete(this.#answered.keys().next().value as string)
    return out
  }
}
