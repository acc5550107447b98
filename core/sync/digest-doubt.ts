/**
 * When to fall back to salted item hashes (salted.ts). Range fingerprints are
 * XORs, so a crafted key set can make every range a session compares match
 * while the digests differ. Such a session finds nothing; so does an honest one
 * that raced a push (its peer's digest was stale). We cannot tell the two
 * apart, and digests move with every write in a busy swarm, so the doubt rests
 * on sessions' outcomes, per peer, not on seeing one pair of digests twice
 * (any write anywhere would reset that, and an attacker's own writes could keep
 * the fallback off for good):
 *
 * - a session we started while our digest differed from the peer's, and that
 *   found no differing key besides keys known not to merge with that peer
 *   (`unmergeable`), is *suspect*;
 * - after `wait` suspect sessions, the next sessions with that peer open with
 *   salted lists, each listing up to SALTED_SESSION_KEYS keys from where the last
 *   stopped (whatever the digests did meanwhile), until the whole key space was
 *   listed once: a *pass*;
 * - a pass that found nothing new doubles `wait` (up to MAX_WAIT); one that
 *   found something sets it back to FIRST_WAIT. A pass the peer ran with us
 *   counts as ours (the salted exchange settles both sides).
 * - equal digests prove nothing is hidden: the count and any pass are dropped.
 *
 * So an honest busy swarm pays a walk of its key space at most every MAX_WAIT
 * suspect sessions once passes stop finding anything, and a pair kept apart by
 * a key bound to different contracts does not re-walk after every write: the
 * key is remembered as unmergeable, left out of the doubt, and passes back off.
 */
import { bytesKey } from './generational-cache.ts'
import type { Session } from './session.ts'
import type { PeerId } from './types.ts'

/** Suspect sessions before the first pass, and after a pass that found something. */
export const FIRST_WAIT = 2
/** The most suspect sessions between two passes (passes that found nothing double the wait up to it). */
export const MAX_WAIT = 64
/** Keys remembered per peer as found different but unmergeable; past it, keys are not remembered (they keep counting as found). */
export const MAX_UNMERGEABLE = 1024

interface Doubt {
  /** Suspect sessions since the last pass. */
  suspect: number
  /** Suspect sessions that start the next pass. */
  wait: number
  /** In a pass: where the next salted session lists keys from ('' the start); undefined: not in a pass. */
  resume: string | undefined
  /** The pass under way found a key that differs and is not known unmergeable. */
  found: boolean
  /** Keys a session with this peer found different and could not merge (contract_mismatch, unknown contract). */
  readonly unmergeable: Set<string>
}

/** How a session we started ended, as the doubt needs it. */
export interface SessionOutcome {
  /** Our digest and the peer's differed when it began. */
  differed: boolean
  /** It found a differing key that is not known unmergeable (see `isUnmergeable`). */
  found: boolean
  /** For a salted session, the first key it left out (null: it reached the end); undefined otherwise. */
  saltedTo?: string | null
}

export class DigestDoubts {
  readonly #doubts = new Map<PeerId, Doubt>()

  #of (peer: PeerId): Doubt {
    let d = this.#doubts.get(peer)
    if (d === undefined) {
      d = { suspect: 0, wait: FIRST_WAIT, resume: undefined, found: false, unmergeable: new Set() }
      this.#doubts.set(peer, d)
    }
    return d
  }

  /** A session we started with `peer` ended (settled). */
  ended (peer: PeerId, o: SessionOutcome): void {
    const d = this.#of(peer)
    if (o.saltedTo !== undefined) {
      if (o.found) d.found = true
      if (o.saltedTo !== null) { d.resume = o.saltedTo; return }
      this.#passDone(d, d.found)
      return
    }
    if (!o.differed || o.found) return
    d.suspect++
    if (d.resume === undefined && d.suspect >= d.wait) {
      d.resume = ''
      d.found = false
    }
  }

  /** Where the session we are about to start with `peer` lists salted keys from; undefined: not salted. */
  salted (peer: PeerId): string | undefined {
    return this.#doubts.get(peer)?.resume
  }

  /** The peer's digest equals ours: nothing is hidden between us. */
  inSync (peer: PeerId): void {
    const d = this.#doubts.get(peer)
    if (d === undefined) return
    d.suspect = 0
    d.resume = undefined
    d.found = false
    d.unmergeable.clear()
  }

  /** The peer sent us salted lists (its pass); `reachedEnd`: they reached the end of the key space. */
  heardSalted (peer: PeerId, reachedEnd: boolean): void {
    const d = this.#of(peer)
    if (d.resume !== undefined) return // our own pass goes on
    d.suspect = 0
    // What the peer's pass found we cannot tell: counted as finding nothing (if it did, the difference is settled).
    if (reachedEnd) d.wait = Math.min(d.wait * 2, MAX_WAIT)
  }

  /** A delta of `key` from `peer` could not be merged: the key differs for good and is left out of the doubt. */
  unmergeable (peer: PeerId, key: string): void {
    const d = this.#of(peer)
    if (d.unmergeable.size < MAX_UNMERGEABLE) d.unmergeable.add(key)
  }

  noteUnmergeable (peer: PeerId, keys: Iterable<string>): void {
    for (const key of keys) this.unmergeable(peer, key)
  }

  /** A session we started ended: `ended` with what it found beyond keys known unmergeable, if it knew both digests. */
  sessionEnded (session: Session): void {
    if (session.startDigest === undefined || session.theirDigest === undefined) return
    const found = session.progress.foundBeyond(key => this.isUnmergeable(session.peer, key))
    this.ended(session.peer, { differed: bytesKey(session.startDigest.fp) !== bytesKey(session.theirDigest), found, saltedTo: session.saltedTo })
  }

  isUnmergeable (peer: PeerId, key: string): boolean {
    return this.#doubts.get(peer)?.unmergeable.has(key) === true
  }

  forget (peer: PeerId): void {
    this.#doubts.delete(peer)
  }

  #passDone (d: Doubt, found: boolean): void {
    d.wait = found ? FIRST_WAIT : Math.min(d.wait * 2, MAX_WAIT)
    d.resume = undefined
    d.found = false
    d.suspect = 0
  }
}
