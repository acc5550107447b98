/**
 * Inspection, sans networking: the question a peer asks about a key, the
 * answer another peer gives, and what the asker makes of it (README "Inspect
 * and trace"). Everything rests on the laws: whether a holder of summary S
 * lacks a state d is whether `delta(d, S)` is non-empty (laws 2 and 3), for
 * any contract; states are equal exactly when their item hashes are (law 4).
 */
import { type Plain, encode } from '../codec.ts'
import type { AnyContract } from '../contract.ts'
import { ContractError } from '../errors.ts'
import type { BoundRef } from '../subscription.ts'
import { formatWriteId, parseWriteId } from '../write-id.ts'
import { type Inspect, type Inspected, MAX_TEXT, type PeerKeyState, type WriteStatus, fits } from './inspect-messages.ts'
import type { Journal, JournalRecord } from './journal.ts'
import { itemHash, sameHash } from './key-index.ts'
import type { PeerId } from './types.ts'
import { contractName } from './wire.ts'

/** What inspection reads of a peer: its store, its contracts, what it keeps, and its journal. */
export interface InspectSource {
  /** The store's replica id: how this peer's writes are named. */
  replica: string
  summary: (key: string) => Promise<{ contract: BoundRef, summary: Plain } | undefined>
  /** What a holder of `theirSummary` lacks (ReplicaStore.deltaFor): ContractError('invalid_summary') for a bad one. */
  deltaFor: (key: string, theirSummary?: unknown) => Promise<{ contract: BoundRef, delta: Plain } | undefined>
  /**
   * This replica's own recent deltas of the key, oldest first (ReplicaStore.deltaLog), each with its write id
   * where the store names it (after a new epoch, older entries keep the replica id they were written under);
   * else the id is `replica/seq`.
   */
  deltaLog: (key: string) => Promise<Array<{ seq: number, delta: Plain, id?: string }>>
  /** The contract of a binding; throws if this peer lacks it. */
  resolve: (binding: BoundRef) => AnyContract
  /** Whether this peer keeps the key (replicate-all, or written, read or watched here). */
  keeps: (key: string) => boolean
  /**
   * The contract this peer lacks for the key, if any: a held key's binding (`held`: its summary was read
   * just before), or for a key not held, the contract of what peers sent of it.
   */
  lacking: (key: string, held: boolean) => string | undefined
  journal: Journal
}

/** How a peer's copy of a key compares with ours. */
export type PeerState = 'equal' | 'behind' | 'ahead' | 'diverged' | 'not_kept' | 'lacks_contract'

export interface Comparison {
  state: PeerState
  /** Our logged writes it lacks, oldest first. */
  missing: string[]
  /**
   * 0: what it lacks is all in `missing` (or it lacks nothing); 1: it lacks more than those (at least one
   * write we cannot name: older than our delta log, or written by another replica); null: not known
   * (its summary was too large to send, or we cannot compare).
   */
  unidentified: number | null
  /** For lacks_contract: the contract it lacks. */
  contract?: string
  /** Why the comparison is partial (a summary too large, a contract mismatch). */
  note?: string
}

const sameRef = (a: BoundRef, b: BoundRef): boolean => contractName(a) === contractName(b) && JSON.stringify(a.params ?? null) === JSON.stringify(b.params ?? null)

/** Our question about `key`: our binding, item hash and summary (left out when too large), and the write to trace. */
export async function makeQuery (src: InspectSource, key: string, qid: Uint8Array, write?: string): Promise<Inspect> {
  const q: Inspect = { type: 'inspect', qid, key, ...(write === undefined ? {} : { write }) }
  // Written here: when, so that peers can name the merge that brought it even without its id.
  const written = write === undefined ? undefined : arrivalOf(src.journal, key, write)
  if (written?.exact === true && written.path === 'local') q.since = written.at
  const s = await src.summary(key)
  if (s !== undefined) q.mine = { contract: s.contract, digest: itemHash(key, s.contract, s.summary), ...(fits(s.summary) ? { summary: s.summary } : {}) }
  return q
}

/**
 * Our answer to `asker`'s question. `cost.bytes` grows by the encoded size of every delta computed for it, so
 * the asker can be charged for them as a session's asker is (PROTOCOL.md §13).
 */
export async function answerQuery (src: InspectSource, q: Inspect, asker: PeerId, cost: { bytes: number } = { bytes: 0 }): Promise<Inspected> {
  const out: Inspected = { type: 'inspected', qid: q.qid, to: asker, replica: src.replica, state: await keyState(src, q, cost) }
  if (q.write !== undefined) {
    const arrival = arrivalOf(src.journal, q.key, q.write, q.since)
    if (arrival !== undefined) out.arrival = { at: arrival.at, path: arrival.path, from: clip(arrival.peer), exact: arrival.exact }
    const written = await writeStatus(src, q.key, q.write)
    if (written !== undefined) out.written = written
  }
  const records = src.journal.query({ key: q.key, peer: asker })
  const refused = records.findLast(r => r.kind === 'refused')
  if (refused?.kind === 'refused') out.refused = { at: refused.at, reason: clip(refused.reason), message: clip(refused.message) }
  const received = records.findLast(r => r.kind === 'merged')
  if (received?.kind === 'merged') out.received = { at: received.at, path: received.path }
  return out
}

async function keyState (src: InspectSource, q: Inspect, cost: { bytes: number }): Promise<PeerKeyState> {
  const s = await src.summary(q.key)
  const lacking = src.lacking(q.key, s !== undefined)
  if (lacking !== undefined) return { kind: 'lacks_contract', contract: clip(lacking) }
  if (s === undefined) return src.keeps(q.key) ? { kind: 'kept', tooLarge: false, hasMore: false } : { kind: 'not_kept' }
  const digest = itemHash(q.key, s.contract, s.summary)
  const tooLarge = !fits(s.summary)
  const state: PeerKeyState = { kind: 'kept', contract: s.contract, digest, tooLarge, ...(tooLarge ? {} : { summary: s.summary }) }
  state.hasMore = await hasMore(src, q, digest, s.contract, cost)
  return state
}

/** Whether we hold something the asker lacks; undefined when we cannot tell (no summary of theirs, another contract). */
async function hasMore (src: InspectSource, q: Inspect, digest: Uint8Array, contract: BoundRef, cost: { bytes: number }): Promise<boolean | undefined> {
  // The asker holds nothing: we hold more unless ours is the empty state (law 4: equal hashes, equal states). No
  // delta is computed: a whole state for a 19-byte question would let any peer keep us busy.
  if (q.mine === undefined) {
    const empty = emptyDigest(src, q.key, contract, digest)
    return empty === undefined ? undefined : !empty
  }
  if (sameHash(q.mine.digest, digest)) return false
  if (q.mine.summary === undefined || !sameRef(q.mine.contract, contract)) return undefined
  try {
    const d = await src.deltaFor(q.key, q.mine.summary)
    if (d !== undefined) cost.bytes += encode(d.delta).length
    return d !== undefined
  } catch (err) {
    if (err instanceof ContractError) return undefined // a summary our contract refuses: we cannot compare
    throw err
  }
}

/** Whether `digest` is the item hash of the empty state of `contract`; undefined if we lack the contract. */
function emptyDigest (src: InspectSource, key: string, contract: BoundRef, digest: Uint8Array): boolean | undefined {
  let c: AnyContract
  try { c = src.resolve(contract) } catch { return undefined }
  return sameHash(digest, itemHash(key, contract, c.summarize(c.empty()) as Plain))
}

/**
 * How `write` reached this peer, as far as the journal remembers: the oldest record naming it (written here,
 * or merged with its id: `exact`); else, given `since` (when it was written), the first merge that changed
 * the key at or after then. Anti-entropy deltas carry no write ids, so a repaired write is found the second
 * way: the first change after the write is the merge that brought it, unless other writes came in between.
 */
export function arrivalOf (journal: Journal, key: string, write: string, since?: number): { at: number, path: string, peer: string, exact: boolean } | undefined {
  let first: JournalRecord | undefined
  for (const r of journal.query({ key })) {
    if ((r.kind === 'merged' || r.kind === 'written') && r.writes.includes(write)) return { at: r.at, path: r.path, peer: r.peer, exact: true }
    if (first === undefined && since !== undefined && r.kind === 'merged' && r.changed && r.at >= since) first = r
  }
  return first?.kind === 'merged' ? { at: first.at, path: first.path, peer: first.peer, exact: false } : undefined
}

/** The delta log entry of `write` of `key`, if this peer wrote it (its replica id, now or in an earlier epoch); undefined if not the writer. */
export async function writeStatus (src: InspectSource, key: string, write: string): Promise<WriteStatus | undefined> {
  const w = parseWriteId(write)
  if (w === undefined) return undefined
  const log = (await src.deltaLog(key)).map(l => ({ ...l, id: l.id ?? formatWriteId(src.replica, l.seq) }))
  const entry = log.find(l => l.id === write)
  if (entry !== undefined) return fits(entry.delta) ? { status: 'logged', delta: entry.delta } : { status: 'logged' }
  const mine = log.filter(l => parseWriteId(l.id)?.replica === w.replica)
  if (w.replica !== src.replica && mine.length === 0) return undefined
  // The log keeps the newest writes: one older than the first it holds fell out of it.
  if (mine.length > 0 && w.seq < parseWriteId(mine[0].id)!.seq) return { status: 'too_old' }
  return { status: 'unknown' }
}

/** Our own view of the key, read once per inspection. */
export interface LocalKey {
  key: string
  held?: { contract: BoundRef, summary: Plain, digest: Uint8Array }
  /** Its contract, when we have it. */
  contract?: AnyContract
  /** Our logged writes, oldest first, with their ids. */
  log: Array<{ id: string, seq: number, delta: Plain }>
}

export async function readLocal (src: InspectSource, key: string): Promise<LocalKey> {
  const s = await src.summary(key)
  if (s === undefined) return { key, log: [] }
  let contract: AnyContract | undefined
  try { contract = src.resolve(s.contract) } catch { /* held under a contract we lack */ }
  const log = contract === undefined ? [] : (await src.deltaLog(key)).map(l => ({ ...l, id: l.id ?? formatWriteId(src.replica, l.seq) }))
  return { key, held: { ...s, digest: itemHash(key, s.contract, s.summary) }, contract, log }
}

/** How a peer's answer (its key state) compares with our copy, read by readLocal. */
export async function compare (src: InspectSource, local: LocalKey, a: PeerKeyState): Promise<Comparison> {
  if (a.kind === 'not_kept') return { state: 'not_kept', missing: [], unidentified: 0 }
  if (a.kind === 'lacks_contract') return { state: 'lacks_contract', missing: [], unidentified: null, contract: a.contract }
  const { held, contract } = local
  if (a.contract === undefined) {
    // It keeps the key and holds nothing: it lacks all we have.
    if (held === undefined) return { state: 'equal', missing: [], unidentified: 0 }
    const all = await src.deltaFor(local.key)
    if (all === undefined) return { state: 'equal', missing: [], unidentified: 0 }
    return { state: 'behind', missing: local.log.map(l => l.id), unidentified: contract === undefined ? null : beyond(contract, all.delta, local.log.map(l => l.delta)) }
  }
  if (held === undefined) return { state: a.digest === undefined ? 'equal' : 'ahead', missing: [], unidentified: 0 }
  if (a.digest !== undefined && sameHash(a.digest, held.digest)) return { state: 'equal', missing: [], unidentified: 0 }
  if (!sameRef(a.contract, held.contract)) {
    return { state: 'diverged', missing: [], unidentified: null, note: `it binds the key to ${contractName(a.contract)}, this peer to ${contractName(held.contract)}` }
  }
  // The states differ (their hashes do), so at least one side holds something the other lacks.
  if (a.summary === undefined || contract === undefined) {
    const note = a.summary === undefined ? 'its summary is too large to send: what it lacks is not known' : 'this peer lacks the key\'s contract'
    return { state: a.hasMore === false ? 'behind' : a.hasMore === true ? 'ahead' : 'diverged', missing: [], unidentified: null, note }
  }
  let theirs: Plain
  let lacks: { delta: Plain } | undefined
  try {
    theirs = contract.validateSummary(a.summary) as Plain
    lacks = await src.deltaFor(local.key, a.summary)
  } catch (err) {
    if (!(err instanceof ContractError)) throw err
    return { state: 'diverged', missing: [], unidentified: null, note: `its summary is not a valid ${contractName(held.contract)} summary` }
  }
  const behind = lacks !== undefined
  const ahead = a.hasMore ?? !behind // unknown: the states differ, so if it lacks nothing, it has more
  const state: PeerState = behind ? (ahead ? 'diverged' : 'behind') : 'ahead'
  if (lacks === undefined) return { state, missing: [], unidentified: 0 }
  const missing = local.log.filter(l => contract.delta(l.delta, theirs) !== undefined)
  return { state, missing: missing.map(l => l.id), unidentified: beyond(contract, lacks.delta, missing.map(l => l.delta)) }
}

/** 1 if `lacked` holds anything the join of `named` does not (a write we cannot name), else 0. */
function beyond (contract: AnyContract, lacked: Plain, named: readonly Plain[]): number {
  const covered = named.reduce<Plain>((acc, d) => contract.merge(acc, d) as Plain, contract.empty() as Plain)
  return contract.delta(lacked, contract.summarize(covered)) === undefined ? 0 : 1
}

/** Whether a holder of `summary` holds the write whose delta is `delta` (its delta against the summary is empty); undefined if the summary is not valid. */
export function holdsWrite (contract: AnyContract, delta: Plain, summary: Plain): boolean | undefined {
  let theirs: unknown
  try {
    theirs = contract.validateSummary(summary)
  } catch (err) {
    if (err instanceof ContractError) return undefined
    throw err
  }
  return contract.delta(delta, theirs) === undefined
}

function clip (text: string): string {
  return text.length <= MAX_TEXT ? (text.length === 0 ? '-' : text) : text.slice(0, MAX_TEXT - 3) + '...'
}
