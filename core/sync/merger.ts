/**
 * How received deltas reach the store. Deltas seen before (by content hash)
 * are dropped first; the rest are merged at once with mergeRemoteMany, in
 * whatever order they come: contracts' summaries tell apart every state a
 * delta merged out of causal order can leave (core/causal.ts), so nothing
 * needs to wait for the delta it was computed after, and anti-entropy repairs
 * whatever a lost delta leaves missing. Every delta that changed nothing is
 * counted as redundant. A peer that keeps only some keys (partial
 * replication) drops the deltas of other keys unmerged, and deltas of a
 * contract this peer does not have (or has in another version) are refused by
 * the store and counted by contract name, in bounded memory (stats.ts). Also
 * builds our own push items: per key, what it gained since its state before
 * the first unpushed change, in pushes small enough for gossip. The greatest
 * clock stamp of each delta that changed the store feeds the sender's
 * clock-skew estimate.
 */
import type { Plain } from '../codec.ts'
import { ContractError } from '../errors.ts'
import { MAX_MESSAGE_VERIFIES, withVerifyBudget } from '../envelope/validate.ts'
import { RefusedForNow } from '../envelope/refused-for-now.ts'
import type { BoundRef } from '../subscription.ts'
import { ClockSkewTracker } from './clock-skew.ts'
import { GenerationalCache } from './generational-cache.ts'
import type { Journal, JournalPath, JournalRecord } from './journal.ts'
import { type DeltaItem, MAX_GOSSIP_PUSH_BYTES, type Message, chunk, encodeMessage, entrySize, refsSize } from './messages.ts'
import { contractName } from './wire.ts'
import { SeenDeltas } from './seen-deltas.ts'
import { type SyncStats, countTop } from './stats.ts'
import type { SummaryHistory } from './summary-history.ts'
import type { PeerId, SyncStore } from './types.ts'
import { type ItemWrites, MergedWithWrites, refusalOf, writeIdsOf } from './write-ranges.ts'

/**
 * How a batch of deltas arrived, for the journal: the path (a push of a key we asked for by a want is
 * recorded as `want`), the bytes of the message that carried them (each item is journaled with its
 * share), and per item the writes it carries (message type 9), where known.
 */
/** `accepted`, if given, gets each item merged without error that was not seen before (once per content). */
export interface Arrival { path: JournalPath, bytes: number, writes?: ReadonlyArray<ItemWrites | undefined>, accepted?: DeltaItem[] }

export class DeltaMerger {
  readonly #store: SyncStore
  readonly #history: SummaryHistory
  readonly #stats: SyncStats
  readonly #seen = new SeenDeltas()
  /** Keys recently refused for a contract this peer lacks, with that contract's id (for error messages). */
  readonly #unknown = new GenerationalCache<string, string>(1024)
  /** (key, contract) pairs this peer cannot merge, whoever sends them: the contract is unknown here, or not the key's. */
  readonly #unmergeable = new GenerationalCache<string, true>(4096)
  readonly #keeps: (key: string) => boolean
  /** Each peer's clock skew, from the stamps of the deltas it sends (clock-skew.ts). */
  readonly skew = new ClockSkewTracker()
  /** Our clock at the event being handled (the engine sets it): what received stamps are compared with. */
  now: number | undefined
  /** Where merges and refusals are recorded (journal.ts). */
  readonly journal: Journal | undefined
  /**
   * Told once per message whose deltas a contract refused as invalid or unauthorized_write (not for a contract this peer lacks):
   * honest peers validate what they merge, so such a message is charged to its sender (engine.ts).
   */
  onInvalid: ((peer: PeerId) => void) | undefined
  /** Keys we sent a want for and do not hold yet: the push that brings one is journaled as the want's answer. */
  readonly #wanting = new GenerationalCache<string, true>(1024)

  /** `keeps`: whether this peer keeps a key (always, for a replicate-all peer). */
  constructor (store: SyncStore, history: SummaryHistory, stats: SyncStats, keeps: (key: string) => boolean = () => true, journal?: Journal) {
    this.journal = journal
    this.#store = store
    this.#history = history
    this.#stats = stats
    this.#keeps = keeps
  }

  /** Merges what was not seen before (pushed or session deltas alike); returns how many deltas changed the store. */
  async merge (from: PeerId, items: readonly DeltaItem[], arrival: Arrival = { path: 'push', bytes: 0 }): Promise<number> {
    this.#stats.deltasReceived += items.length
    const fresh: Array<{ item: DeltaItem, hash: string, writes: ItemWrites | undefined }> = []
    const inBatch = new Set<string>()
    const journal = this.journal
    const at = this.now ?? 0
    const share = items.length === 0 ? 0 : Math.round(arrival.bytes / items.length)
    // A want is answered by a plain push (type 1): a writes push is its writer's own, whoever wanted the key.
    const pathOf = (key: string): JournalPath => arrival.path === 'push' && arrival.writes === undefined && this.#wanting.has(key) ? 'want' : arrival.path
    items.forEach((item, i) => {
      const writes = arrival.writes?.[i]
      if (!this.#keeps(item.key)) {
        this.#stats.notReplicated++
        // Every gossiped push reaches every peer: one of a key not kept here is no refusal worth a record.
        if (arrival.path !== 'push') journal?.record({ kind: 'refused', key: item.key, peer: from, path: arrival.path, reason: 'not_kept', message: 'this peer does not keep the key' }, at)
        return
      }
      const hash = SeenDeltas.hashOf(item)
      if (this.#seen.has(hash) || inBatch.has(hash)) {
        this.#stats.redundantDeltas++
        journal?.record(merged(item.key, from, pathOf(item.key), writes, false, share), at)
        return
      }
      inBatch.add(hash)
      fresh.push({ item, hash, writes })
    })
    if (fresh.length === 0) return 0
    // One budget of signature verifies per message, for all its owned keys (core/envelope/validate.ts).
    const outcomes = await withVerifyBudget(MAX_MESSAGE_VERIFIES, async () => await this.#store.mergeRemoteMany(fresh.map(({ item, writes }) => ({ key: item.key, contract: item.contract, delta: item.delta, origin: from, writes: writes === undefined ? undefined : writeIdsOf(writes) }))))
    let changed = 0
    let invalid = false
    outcomes.forEach((o, i) => {
      const { item, writes } = fresh[i]
      if ('error' in o) {
        journal?.record({ kind: 'refused', key: item.key, peer: from, path: pathOf(item.key), reason: refusalOf(o.error), message: o.error.message.slice(0, 300) }, at)
        this.#stats.rejectedDeltas++
        // A forged owned-key change costs its sender as an invalid state does: honest peers validate what they send (validation needs no local state).
        // Not a state over a checking budget (signatures, checkpoint tests): that is refused for now, not invalid (an honest large state arrives over a few sessions).
        if ((refusalOf(o.error) === 'invalid' && !(o.error instanceof RefusedForNow)) || refusalOf(o.error) === 'unauthorized_write') invalid = true
        const code = o.error instanceof ContractError ? o.error.code : undefined
        if (code === 'unknown_contract') {
          // A nested contract (an or-map field's) this peer lacks is named by the error.
          const name = (o.error as ContractError).contract ?? contractName(fresh[i].item.contract)
          countTop(this.#stats.unknownContracts, name)
          this.#unknown.set(fresh[i].item.key, name)
        }
        if (code === 'unknown_contract' || code === 'contract_mismatch') this.#unmergeable.set(unmergeableKey(fresh[i].item.key, fresh[i].item.contract), true)
        return
      }
      journal?.record(merged(item.key, from, pathOf(item.key), writes, o.changed, share), at)
      if (o.changed) this.#wanting.delete(item.key) // held now, however it came
      if (o.changed) changed++; else this.#stats.redundantDeltas++
      const stamp = o.changed && this.now !== undefined ? this.#store.stampOf?.(fresh[i].item.contract, fresh[i].item.delta) : undefined
      if (stamp !== undefined) this.skew.observe(from, stamp, this.now!)
      this.#seen.add(fresh[i].hash)
      arrival.accepted?.push(item)
    })
    if (invalid) try { this.onInvalid?.(from) } catch { /* the reporter must not stop the merge */ }
    return changed
  }

  /** We asked peers for these keys (a want): the push that brings one is its answer. */
  wanted (keys: readonly string[]): void {
    for (const key of keys) this.#wanting.set(key, true)
  }

  /** Whether deltas for `key` under `contract` were refused lately (the contract is unknown here, or not the key's): more will not help. */
  unmergeable (key: string, contract: BoundRef): boolean {
    return this.#unmergeable.has(unmergeableKey(key, contract))
  }

  /** The contract id of a recent delta for `key` refused because this peer lacks that contract. */
  unknownContractOf (key: string): string | undefined {
    return this.#unknown.get(key)
  }

  /**
   * Our push messages for keys changed locally (see pushItems), chunked to `maxBytes`, and to
   * MAX_GOSSIP_PUSH_BYTES unless they go `direct` to one peer (over a stream, not gossip). An item too
   * large for a gossiped push is left out: our digest now differs from every peer's, and anti-entropy
   * sessions, whose messages may be `maxBytes`, carry it (counted in `sessionOnlyItems`).
   *
   * A gossiped push carries items of one contract (by name: id and version): a peer that lacks a
   * contract does not relay a push holding it (push-check.ts), and must not hold back other
   * contracts' items with it.
   */
  async pushes (dirty: ReadonlyMap<string, Uint8Array | null>, maxBytes: number, direct = false, writes?: ReadonlyMap<string, ItemWrites>): Promise<Message[]> {
    // In key order, so that front coding shares their prefixes.
    const items = (await this.pushItems(dirty)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    const groups = new Map<string, DeltaItem[]>()
    for (const item of items) {
      const name = direct ? '' : contractName(item.contract)
      const group = groups.get(name)
      if (group === undefined) groups.set(name, [item]); else group.push(item)
    }
    const out: Message[] = []
    // With `writes`: `writes` pushes (type 9), each item with the writes folded into it, where known.
    const sizeOf = writes === undefined ? entrySize.deltaItem : (d: DeltaItem) => entrySize.deltaItem(d) + writeEntrySize(writes.get(d.key))
    for (const group of groups.values()) {
      const empty = encodeMessage(writes === undefined ? { type: 'push', items: [] } : { type: 'writes', items: [], writes: [] }).length + refsSize(group)
      const { parts, oversize } = chunk(group, sizeOf, empty, direct ? maxBytes : Math.min(maxBytes, MAX_GOSSIP_PUSH_BYTES))
      for (const item of oversize) {
        if (chunk([item], sizeOf, empty, maxBytes).oversize.length > 0) this.#stats.oversizeItems++
        else this.#stats.sessionOnlyItems++
      }
      for (const part of parts) out.push(writes === undefined ? { type: 'push', items: part } : { type: 'writes', items: part, writes: part.map(d => writes.get(d.key)) })
    }
    return out
  }

  /** Our push items for keys changed locally: per key, what it gained since the state of item hash `before` (everything, when that is unknown). */
  async pushItems (dirty: ReadonlyMap<string, Uint8Array | null>): Promise<DeltaItem[]> {
    const items: DeltaItem[] = []
    for (const [key, before] of dirty) {
      const theirs: Plain | undefined = before === null ? undefined : this.#history.recall(before)
      const d = await this.#store.deltaFor(key, theirs)
      if (d === undefined) continue
      const item = { key, contract: d.contract, delta: d.delta }
      this.#seen.add(SeenDeltas.hashOf(item)) // our own delta coming back is redundant
      items.push(item)
    }
    return items
  }
}

/** Upper bound of a write list entry's encoded size: the replica id and three 9-byte numbers (or null). */
function writeEntrySize (w: ItemWrites | undefined): number {
  return w === undefined ? 1 : w.replica.length + 3 + 27 + 1
}

/** No writes named: one shared, frozen list (a record per delta must cost next to nothing). */
const NO_WRITES: string[] = Object.freeze([]) as unknown as string[]

/** A merged record, built whole (n and at filled in by the journal): one allocation, one shape. */
function merged (key: string, peer: PeerId, path: JournalPath, w: ItemWrites | undefined, changed: boolean, bytes: number): JournalRecord {
  return w === undefined
    ? { kind: 'merged', key, peer, path, writes: NO_WRITES, changed, bytes, n: 0, at: 0 }
    : new MergedWithWrites(key, peer, path, w, changed, bytes) // the range, not its ids: see write-ranges.ts
}

function unmergeableKey (key: string, contract: BoundRef): string {
  return `${key}\0${contractName(contract)}\0${JSON.stringify(contract.params ?? null)}`
}
