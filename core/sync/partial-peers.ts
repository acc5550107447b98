/**
 * Partial replication, the engine's side (see `Interest` in types.ts).
 *
 * A peer that keeps only some keys cannot compare digests with anyone: theirs
 * cover keys it does not keep. So once per anti-entropy period it opens a
 * session with one neighbour and sends the summaries of every key it keeps
 * (and names the wanted keys it lacks), asking back: the neighbour answers
 * with deltas where it holds more and asks for ours where we do. Neighbours
 * take turns. One is skipped while neither its digest nor ours (nor the
 * wanted keys we lack) changed since our last such session with it: nothing
 * new can be there. The wants for keys still lacking go out again each period.
 *
 * Wants (a key read here that no one sent yet) go out on the want topic; a
 * peer holding a wanted key answers with a push of its whole state, at most
 * once per key per WANT_ANSWER_MS however many peers ask.
 */
import { createHash } from 'node:crypto'
import { bytesKey } from './generational-cache.ts'
import type { PeerId } from './types.ts'

/** A key's state is pushed at most once per this many ms in answer to wants. */
export const WANT_ANSWER_MS = 250
/** Answered keys remembered for rate limiting; past this the oldest are forgotten. */
const MAX_ANSWERED = 4096

export class PartialPeers {
  readonly #neighbours = new Set<PeerId>()
  /** Each neighbour's last digest (as a string). */
  readonly #digests = new Map<PeerId, string>()
  /** Our digest and the neighbour's when our last session with it began. */
  readonly #synced = new Map<PeerId, string>()
  #turn = 0

  joined (peer: PeerId): void {
    this.#neighbours.add(peer)
    this.#synced.delete(peer)
  }

  left (peer: PeerId): void {
    this.#neighbours.delete(peer)
    this.#digests.delete(peer)
    this.#synced.delete(peer)
  }

  digest (peer: PeerId, fp: Uint8Array): void {
    this.#neighbours.add(peer)
    this.#digests.set(peer, bytesKey(fp))
  }

  /**
   * The next neighbour to reconcile our keys with, if any is due; it is marked as synced at our digest
   * `mine` and `lacking` (the wanted keys we do not hold: a neighbour may have gained one since).
   */
  next (mine: Uint8Array, busy: (peer: PeerId) => boolean, lacking: readonly string[] = []): PeerId | undefined {
    const peers = [...this.#neighbours]
    const ours = lacking.length === 0 ? bytesKey(mine) : `${bytesKey(mine)}+${createHash('sha256').update(lacking.join('\0')).digest('base64')}`
    for (let i = 0; i < peers.length; i++) {
      const peer = peers[(this.#turn + i) % peers.length]
      const pair = `${ours}/${this.#digests.get(peer) ?? '?'}`
      if (busy(peer) || this.#synced.get(peer) === pair) continue
      this.#turn = (this.#turn + i + 1) % peers.length
      this.#synced.set(peer, pair)
      return peer
    }
    return undefined
  }

  /** Our session with the peer failed: try it again at the next turn. */
  failed (peer: PeerId): void {
    this.#synced.delete(peer)
  }
}

/**
 * Keys answered per second at most, over all wants: a want costs its sender a few bytes and may cost
 * us a whole state per key, so a peer flooding wants must not turn us into an amplifier. What is
 * over the budget goes unanswered; a partial peer asks again the next period.
 */
export const WANT_ANSWER_KEYS_PER_SECOND = 4096

/** Which wanted keys to answer now: those not answered within WANT_ANSWER_MS, within the per-second budget. */
export class WantAnswers {
  readonly #answered = new Map<string, number>()
  readonly #perSecond: number
  #budget: number
  #refilledAt = -Infinity

  constructor (perSecond = WANT_ANSWER_KEYS_PER_SECOND) {
    this.#perSecond = perSecond
    this.#budget = perSecond
  }

  take (keys: readonly string[], now: number): string[] {
    // A token bucket holding at most one second's worth.
    if (now > this.#refilledAt) {
      this.#budget = Math.min(this.#perSecond, this.#budget + (now - this.#refilledAt) * this.#perSecond / 1000)
      this.#refilledAt = now
    }
    const out = keys.filter(k => now - (this.#answered.get(k) ?? -Infinity) >= WANT_ANSWER_MS).slice(0, Math.floor(this.#budget))
    this.#budget -= out.length
    for (const k of out) {
      this.#answered.delete(k)
      this.#answered.set(k, now)
    }
    while (this.#answered.size > MAX_ANSWERED) this.#answered.delete(this.#answered.keys().next().value as string)
    return out
  }
}
