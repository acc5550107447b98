/**
 * What this peer knows about its own key space, kept in step with the store
 * through onCommit: the digest index (item hash per key), the summaries keys
 * recently had (by item hash), the change log of whole-space states, the
 * whole-space accumulator digests carry (lthash.ts), and each key's item hash
 * before its latest commit (where its next push's delta starts).
 */
import type { Plain } from '../codec.ts'
import type { BoundRef } from '../subscription.ts'
import { ChangeLog } from './change-log.ts'
import { GenerationalCache } from './generational-cache.ts'
import { type Fingerprint, KeyIndex, itemHash } from './key-index.ts'
import { LtHash } from './lthash.ts'
import { Plan } from './reconcile.ts'
import { SummaryHistory } from './summary-history.ts'
import type { SyncStore } from './types.ts'

export class LocalView {
  readonly index = new KeyIndex()
  readonly history = new SummaryHistory()
  readonly changes = new ChangeLog()
  /** The multiset hash of every key's item hash: what digests carry (kept in step with `index`). */
  readonly space = new LtHash()
  /** Each recently committed key's item hash before that commit (null: the key was new). */
  readonly #before = new GenerationalCache<string, Uint8Array | null>(16_384)
  /** Called after each commit with the key's new item hash. */
  onIndexed: (key: string, hash: Uint8Array) => void = () => {}
  #unfollow: () => void = () => {}

  /** Follows the store's commits, then reads every key's summary. */
  static async load (store: SyncStore): Promise<LocalView> {
    const view = new LocalView()
    const touched = new Set<string>()
    let loading = true
    view.#unfollow = store.onCommit(c => {
      view.#committed(c.key, itemHash(c.key, c.contract, c.summary), c.contract, c.summary)
      if (loading) touched.add(c.key)
    })
    for (const key of await store.keys()) {
      if (touched.has(key)) continue
      const s = await store.summary(key)
      // A commit while we read has already put the newer summary in the index.
      if (s === undefined || touched.has(key)) continue
      const hash = itemHash(key, s.contract, s.summary)
      view.#set(key, hash)
      view.history.remember(hash, s.contract, s.summary)
    }
    loading = false
    view.changes.start(view.space.digest())
    return view
  }

  #committed (key: string, hash: Uint8Array, contract: BoundRef, summary: Plain): void {
    const before = this.index.get(key)
    this.#set(key, hash)
    this.changes.commit(key, before, this.space.digest())
    this.#before.set(key, before ?? null)
    this.history.remember(hash, contract, summary)
    this.onIndexed(key, hash)
  }

  #set (key: string, hash: Uint8Array): void {
    this.space.replace(this.index.get(key), hash)
    this.index.set(key, hash)
  }

  /** What digests carry: the key count and the 16-byte hash of the whole-space accumulator (not a range fingerprint). */
  digest (): Fingerprint {
    return { count: this.index.size, fp: this.space.digest() }
  }

  /** The key's item hash before its latest commit: null if it was new then, or if that is forgotten. */
  before (key: string): Uint8Array | null {
    return this.#before.get(key) ?? null
  }

  /** The deltas a peer whose key space has fingerprint `f` lacks, if that is a past state of ours (and not our current one). */
  catchUpPlan (f: { fp: Uint8Array }): Plan | undefined {
    const changed = this.changes.since(f)
    if (changed === undefined || changed.size === 0) return undefined
    const plan = new Plan()
    this.addCatchUp(plan, changed)
    return plan
  }

  /** Plans the deltas for keys changed since a past state the peer holds (their item hashes then: undefined when absent). */
  addCatchUp (plan: Plan, changed: ReadonlyMap<string, Uint8Array | undefined>): void {
    for (const [key, before] of changed) {
      const theirs = before === undefined ? undefined : this.history.recall(before)
      if (theirs === undefined) plan.fullKeys.push(key); else plan.since.push([key, theirs])
    }
  }

  close (): void {
    this.#unfollow()
  }
}
