/**
 * What a replicate-all peer knows of its partial neighbours' key sets (their
 * "scopes"), so it can tell one cheaply whether they agree on its keys.
 *
 * A partial peer's digest is the accumulator (lthash.ts) of its item hashes
 * over the keys it holds. We learn those keys from what it tells us: the summaries it sends
 * in its sessions and the keys of the pushes it authors. For each partial
 * neighbour we keep an index of those keys with *our* item hashes, kept in
 * step with our commits, and an accumulator of those hashes, so we hold our
 * digest over the neighbour's keys. Equal to the neighbour's digest: we agree
 * on every key it holds. Else we tell it (a `scope` message) and it reconciles
 * with us. An accumulator, not XOR: the scope's digest is the final word on
 * whether we agree, as the whole-space digest is, and costs 2 KiB per partial
 * neighbour and one lane update per commit of one of its keys.
 */
import { KeyIndex } from './key-index.ts'
import { LtHash } from './lthash.ts'
import type { PeerId } from './types.ts'

interface Scope {
  /** Keys the peer holds, as far as we know. */
  readonly keys: Set<string>
  /** Those of them we hold, with our item hashes; and those we cannot hold, with the peer's. */
  readonly index: KeyIndex
  /** Keys whose data we cannot merge (their contract is unknown here, or not the key's): counted with the peer's hash. */
  readonly foreign: Set<string>
  /** The accumulator of `index`'s hashes: our digest over the peer's keys. */
  readonly space: LtHash
}

export class PeerScopes {
  readonly #scopes = new Map<PeerId, Scope>()

  /** The peer is partial: start (or keep) its scope. */
  partial (peer: PeerId): void {
    if (!this.#scopes.has(peer)) this.#scopes.set(peer, { keys: new Set(), index: new KeyIndex(), foreign: new Set(), space: new LtHash() })
  }

  isPartial (peer: PeerId): boolean {
    return this.#scopes.has(peer)
  }

  /** The peer holds `keys`; `ours` gives our item hash of a key (undefined if we do not hold it). */
  learn (peer: PeerId, keys: Iterable<string>, ours: (key: string) => Uint8Array | undefined): void {
    const scope = this.#scopes.get(peer)
    if (scope === undefined) return
    for (const key of keys) {
      if (scope.keys.has(key)) continue
      scope.keys.add(key)
      const hash = ours(key)
      if (hash !== undefined) set(scope, key, hash)
    }
  }

  /**
   * The peer holds `key` with item hash `theirs`, and we cannot merge its data: count the key with the
   * peer's hash, so that what we can never agree on does not keep us telling the peer we differ.
   */
  foreign (peer: PeerId, key: string, theirs: Uint8Array): void {
    const scope = this.#scopes.get(peer)
    if (scope === undefined) return
    scope.keys.add(key)
    scope.foreign.add(key)
    set(scope, key, theirs)
  }

  /** We committed `key` with item hash `hash`. */
  committed (key: string, hash: Uint8Array): void {
    for (const scope of this.#scopes.values()) if (scope.keys.has(key) && !scope.foreign.has(key)) set(scope, key, hash)
  }

  /** Our digest over the peer's keys (as we know them): the accumulator of our item hashes. */
  fingerprint (peer: PeerId): Uint8Array | undefined {
    return this.#scopes.get(peer)?.space.digest()
  }

  forget (peer: PeerId): void {
    this.#scopes.delete(peer)
  }
}

function set (scope: Scope, key: string, hash: Uint8Array): void {
  scope.space.replace(scope.index.get(key), hash)
  scope.index.set(key, hash)
}
