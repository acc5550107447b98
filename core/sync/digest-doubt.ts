/**
 * When to fall back to salted item hashes (salted.ts). A session we start with
 * a peer whose digest differs from ours either changes one of us or shows why
 * it cannot (different bindings, keys we cannot merge). If a session ends and
 * we then meet the peer again at the very same pair of digests (ours unchanged
 * through the session, and its digest what it was when we began), the session
 * changed nothing on either side: its range fingerprints, XORs of item
 * hashes, may have been made to collide. The next session with that peer at
 * that pair opens with salted lists instead, each salted session listing up
 * to SALTED_SESSION_KEYS keys from where the last one stopped, until the whole
 * key space was listed once for the pair. If the salted lists find nothing
 * either, what remains is a difference no session can settle (such as a key
 * bound to different contracts), and ordinary sessions go on as before.
 *
 * Requiring the same pair twice keeps the fallback off the honest path: a
 * session that raced a push (both peers already equal, or moved on) meets a
 * new pair, or equal digests, and never pays for the salted lists.
 */
import { bytesKey } from './generational-cache.ts'
import type { PeerId } from './types.ts'

/** `resume`: where the next salted session starts listing keys; null: all were listed for this pair. */
interface Doubt { pair: string, resume: string | null }

const pairOf = (ours: Uint8Array, theirs: Uint8Array): string => bytesKey(ours) + '|' + bytesKey(theirs)

export class DigestDoubts {
  readonly #doubts = new Map<PeerId, Doubt>()

  /**
   * A session we started with `peer` ended: `began` our digest when it began, `theirs` the peer's digest
   * then, `now` our digest now; `saltedTo`: for a salted session, the first key it left out (null: none).
   */
  ended (peer: PeerId, began: Uint8Array, theirs: Uint8Array | undefined, now: Uint8Array, saltedTo?: string | null): void {
    if (theirs === undefined || bytesKey(began) !== bytesKey(now) || bytesKey(theirs) === bytesKey(now)) {
      this.#doubts.delete(peer)
      return
    }
    const pair = pairOf(began, theirs)
    const known = this.#doubts.get(peer)
    if (known?.pair === pair) { if (saltedTo !== undefined) known.resume = saltedTo; return }
    this.#doubts.set(peer, { pair, resume: saltedTo === undefined ? '' : saltedTo })
  }

  /** Where the session we are about to start with `peer` (ours `mine`, its digest `theirs`) lists salted keys from; undefined: not salted. */
  salted (peer: PeerId, mine: Uint8Array, theirs: Uint8Array): string | undefined {
    const d = this.#doubts.get(peer)
    return d === undefined || d.resume === null || d.pair !== pairOf(mine, theirs) ? undefined : d.resume
  }

  forget (peer: PeerId): void {
    this.#doubts.delete(peer)
  }
}
