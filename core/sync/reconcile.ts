/**
 * Range-based set reconciliation over the digest index: how one side answers
 * the other's range fingerprints, item lists and summaries. The answers are
 * collected in a Plan (what to send back); the engine turns it into messages.
 *
 * - A range whose fingerprint equals ours is done.
 * - A range the peer holds nothing of: we send the deltas of all our keys in it.
 * - A range we hold at most LIST_KEYS keys of: we send our item list, or our summary list
 *   when the summaries are no bigger than the hashes (answered like summaries, see answerSums).
 * - Otherwise we cut our view of it into SPLIT_PARTS ranges (fewer if that leaves them under
 *   MIN_PART_KEYS keys) and send their fingerprints.
 * - On an item list: keys only we hold → full deltas; keys only they hold → "we lack it";
 *   keys whose hashes differ → the delta, if their hash is one of our past states (we know their summary),
 *   else our summary, so they send what we lack (and ask for ours if they lack something).
 *   Item lists carry 8-byte hash prefixes; if the walk finds no difference in a range the peer
 *   found different (two prefixes collided), we send our summaries of the whole range.
 */
import { type Plain, canonicalEqual } from '../codec.ts'
import { ContractError } from '../errors.ts'
import type { BoundRef } from '../subscription.ts'
import { type KeyIndex, itemHash, sameHash } from './key-index.ts'
import { type DeltaItem, ITEM_HASH_BYTES, matchesFp, type RangeFp, type RangeItems, type RangeSums, type Summary, entrySize } from './messages.ts'
import type { SummaryHistory } from './summary-history.ts'
import type { SyncStore } from './types.ts'

export const SPLIT_PARTS = 16
/** A range we hold at most this many keys of is answered with its keys (item or summary list), not split. */
export const LIST_KEYS = 16
/** A summary of ours, or (contract null) word that we lack the key. */
export interface SumItem { key: string, contract: BoundRef | null, summary: Plain }
/** A split never makes ranges of fewer keys than this (on the splitting side): a fingerprint costs as much as a few items. */
export const MIN_PART_KEYS = 4

export class Plan {
  readonly fps: RangeFp[] = []
  readonly items: RangeItems[] = []
  readonly sumLists: RangeSums[] = []
  /** Sums with reply = true: keys we send our summary of (or say we lack) and ask back. */
  readonly ask: SumItem[] = []
  readonly askKeys: string[] = []
  /** Summaries sent without asking back (sums with reply = false): we are behind on these keys. */
  readonly tell: SumItem[] = []
  readonly tellKeys: string[] = []
  /** Deltas computed already, from the peer's summaries: it may hold more than we do, so its ack reports its hashes. */
  readonly deltas: DeltaItem[] = []
  /** Keys the peer holds an older state of, whose summary we know: we send what it lacks. */
  readonly since: Array<[key: string, theirSummary: Plain]> = []
  /** Keys the peer lacks entirely: we send everything we hold. */
  readonly fullKeys: string[] = []
  /** Our keys with salted item hashes (salted.ts): the fallback when ranges all matched but digests differ. */
  salted: { salt: Uint8Array, lists: RangeItems[] } | undefined
  /** Not sent: keys whose summary the peer sent under a binding other than ours, which no session can merge (digest-doubt.ts). */
  readonly unmergeable: string[] = []

  get empty (): boolean {
    return this.fps.length + this.items.length + this.sumLists.length + this.ask.length + this.askKeys.length + this.tell.length + this.tellKeys.length + this.deltas.length + this.since.length + this.fullKeys.length === 0 && this.salted === undefined
  }
}

/** Answers the peer's fingerprint of [lo, hi) (`offset`: which part of a full fingerprint it carries, see matchesFp). */
export function answerFp (index: KeyIndex, history: SummaryHistory, r: RangeFp, plan: Plan, offset = 0): void {
  const mine = index.fingerprint(r.lo, r.hi ?? undefined)
  if (mine.count === r.count && matchesFp(mine.fp, r.fp, offset)) return
  describeRange(index, history, r.lo, r.hi, r.count, plan)
}

/** Our view of [lo, hi), which differs from the peer's (holding `theirCount` keys there, if known): our keys, or a split. */
export function describeRange (index: KeyIndex, history: SummaryHistory, lo: string, hiBound: string | null, theirCount: number | undefined, plan: Plan): void {
  const hi = hiBound ?? undefined
  const mine = index.fingerprint(lo, hi)
  if (theirCount === 0) {
    for (const [key] of index.items(lo, hi)) plan.fullKeys.push(key)
  } else if (mine.count <= LIST_KEYS) {
    const items: RangeItems = { lo, hi: hiBound, items: index.items(lo, hi) }
    const sums = summaryList(history, items)
    // Summaries no bigger than the hashes go instead: the peer answers them with deltas at once.
    if (sums !== undefined && entrySize.rangeSums(sums) <= entrySize.rangeItems(items)) plan.sumLists.push(sums); else plan.items.push(items)
  } else {
    const parts = Math.min(SPLIT_PARTS, Math.ceil(mine.count / MIN_PART_KEYS))
    const bounds: Array<string | null> = [lo, ...index.split(lo, hi, parts), hiBound]
    for (let i = 0; i + 1 < bounds.length; i++) {
      const from = bounds[i] as string
      const to = bounds[i + 1]
      const f = index.fingerprint(from, to ?? undefined)
      plan.fps.push({ lo: from, hi: to, count: f.count, fp: f.fp })
    }
  }
}

/** The item list with each key's summary in place of its hash, if every summary is remembered. */
function summaryList (history: SummaryHistory, r: RangeItems): RangeSums | undefined {
  const sums: Summary[] = []
  for (const [key, hash] of r.items) {
    const s = history.recallEntry(hash)
    if (s === undefined) return undefined
    sums.push({ key, contract: s.contract, summary: s.summary })
  }
  return { lo: r.lo, hi: r.hi, sums }
}

/** Answers the peer's summary list of [lo, hi): keys only we hold go whole, the rest are answered as summaries. */
export async function answerSumList (store: SyncStore, index: KeyIndex, r: RangeSums, plan: Plan): Promise<void> {
  const theirs = new Set(r.sums.map(s => s.key))
  for (const [key] of index.items(r.lo, r.hi ?? undefined)) if (!theirs.has(key)) plan.fullKeys.push(key)
  await answerSums(store, index, r.sums, true, plan)
}

/** Answers the peer's item list of [lo, hi) by walking it beside ours. */
export function answerItems (index: KeyIndex, history: SummaryHistory, r: RangeItems, plan: Plan): void {
  const mine = index.items(r.lo, r.hi ?? undefined)
  const theirs = r.items
  let i = 0; let j = 0; let differing = 0
  while (i < mine.length || j < theirs.length) {
    const a = mine[i]; const b = theirs[j]
    differing++
    if (b === undefined || (a !== undefined && a[0] < b[0])) { plan.fullKeys.push(a[0]); i++; continue }
    if (a === undefined || b[0] < a[0]) { plan.ask.push({ key: b[0], contract: null, summary: null }); j++; continue }
    if (!sameHash(a[1].subarray(0, ITEM_HASH_BYTES), b[1])) {
      const theirs = history.recall(b[1])
      if (theirs === undefined) plan.askKeys.push(a[0]); else plan.since.push([a[0], theirs])
    } else {
      differing--
    }
    i++; j++
  }
  // The peer sends an item list only for a range that differs: nothing differing here means prefixes collided.
  if (differing === 0) for (const [key] of mine) plan.askKeys.push(key)
}

export function sameBinding (a: BoundRef, b: BoundRef): boolean {
  return a.id === b.id && a.version === b.version && canonicalEqual(a.params ?? null, b.params ?? null)
}

/**
 * Answers the peer's summaries: the delta it lacks for each key, and, when it
 * asked back (`reply`), our summary of keys on which only it holds more.
 * Keys bound to another contract here are skipped: they can never agree.
 */
export async function answerSums (store: SyncStore, index: KeyIndex, sums: readonly SumItem[], reply: boolean, plan: Plan): Promise<void> {
  for (const s of sums) {
    const mine = index.get(s.key)
    if (mine === undefined) {
      if (s.contract !== null && reply) plan.tell.push({ key: s.key, contract: null, summary: null })
      continue
    }
    if (s.contract === null) { plan.fullKeys.push(s.key); continue }
    if (sameHash(itemHash(s.key, s.contract, s.summary), mine)) continue
    const own = await store.summary(s.key)
    if (own === undefined || !sameBinding(own.contract, s.contract)) { if (own !== undefined) plan.unmergeable.push(s.key); continue }
    let d: Awaited<ReturnType<SyncStore['deltaFor']>>
    try {
      d = await store.deltaFor(s.key, s.summary)
    } catch (err) {
      if (err instanceof ContractError) continue // not a valid summary for the contract: nothing to answer
      throw err
    }
    // No delta: we hold nothing they lack, and the summaries differ, so they hold more.
    if (d === undefined) { if (reply) plan.tell.push({ key: s.key, contract: own.contract, summary: own.summary }) } else plan.deltas.push({ key: s.key, contract: d.contract, delta: d.delta })
  }
}
