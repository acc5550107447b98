/**
 * Turns a reconciliation Plan into a session's request messages: ranges,
 * summaries (asking back or not), deltas, each chunked to the message bound,
 * each numbered and kept in the session's outbox until acked. And the acks.
 * Listed keys go in key order, so that front coding shares their prefixes.
 * Deltas computed from the peer's summary go apart from those computed from
 * a state we know it holds: only the former need its hashes in the ack.
 */
import type { Plain } from '../codec.ts'
import { ContractError } from '../errors.ts'
import {
  ACK_HASH_BYTES, type DeltaItem, MAX_RANGE_ITEMS, MAX_SALTED_KEYS, type Message, type RangeFp, type RangeItems, type RangeSums, type Summary, chunk, encodeMessage,
  entrySize, refsSize
} from './messages.ts'
import type { Plan, SumItem } from './reconcile.ts'
import { saltedListSize } from './salted.ts'
import type { Session } from './session.ts'
import type { SyncStats } from './stats.ts'
import type { PeerId, SendAction, SyncAction, SyncStore } from './types.ts'

/** Session and sequence numbers are budgeted at their widest when sizing chunks. */
const NUMBER_PLACEHOLDER = 0xffffffff

type RangeEntry = { fp: RangeFp } | { items: RangeItems } | { sums: RangeSums }

export class SessionOutput {
  readonly #store: SyncStore
  readonly #stats: SyncStats
  readonly #maxBytes: number
  readonly #send: (to: PeerId, msg: Message) => SendAction

  constructor (store: SyncStore, stats: SyncStats, maxBytes: number, send: (to: PeerId, msg: Message) => SendAction) {
    this.#store = store
    this.#stats = stats
    this.#maxBytes = maxBytes
    this.#send = send
  }

  /**
   * Sends the plan as requests of the session (appended to `actions`); returns their sequence numbers.
   * `limit`: bytes this may send (a peer's allowance, peer-budget.ts). Past it, the rest of the plan is
   * left out and deltas not yet computed are not computed; the first message always goes. What is left
   * out still differs, so a later session finds it again: an answer cut short only delays.
   */
  async emit (session: Session, plan: Plan, actions: SyncAction[], now: number, limit = Infinity): Promise<number[]> {
    if (plan.empty) return []
    const sid = session.sid
    const sizing = { ...sid, n: NUMBER_PLACEHOLDER }
    const seqs: number[] = []
    let spent = 0
    /** Whether anything of the plan was left out. */
    let cut = false
    const full = (): boolean => spent >= limit
    const request = (make: (seq: number) => Message, deltaKeys: readonly string[] | null = null): void => {
      const seq = session.request(deltaKeys)
      seqs.push(seq)
      const msg = make(seq)
      const action = this.#send(session.peer, msg)
      session.hold(seq, { type: msg.type, bytes: action.bytes, sentAt: now })
      actions.push(action)
      spent += action.bytes.length
      session.progress.bytesOut += action.bytes.length
    }
    const ranges: RangeEntry[] = [...plan.fps.map(fp => ({ fp })), ...plan.items.map(items => ({ items })), ...plan.sumLists.map(sums => ({ sums }))]
      .sort((a, b) => byKey(loOf(a), loOf(b)))
    const rangeSize = (e: RangeEntry): number => 'fp' in e ? entrySize.rangeFp(e.fp) : 'items' in e ? entrySize.rangeItems(e.items) : entrySize.rangeSums(e.sums)
    const emptyRanges = encodeMessage({ type: 'ranges', sid: sizing, seq: NUMBER_PLACEHOLDER, fps: [], items: [], sums: [] }).length
    for (const part of this.#chunk(ranges, rangeSize, emptyRanges)) {
      if (full()) { cut = true; break }
      const fps = part.flatMap(e => 'fp' in e ? [e.fp] : [])
      const items = part.flatMap(e => 'items' in e ? [e.items] : [])
      const sums = part.flatMap(e => 'sums' in e ? [e.sums] : [])
      request(seq => ({ type: 'ranges', sid, seq, fps, items, sums }))
    }
    if (plan.salted !== undefined) {
      const { salt, lists } = plan.salted
      const emptySalted = encodeMessage({ type: 'salted', sid: sizing, seq: NUMBER_PLACEHOLDER, salt, lists: [] }).length
      const parts = this.#chunk(lists, saltedListSize, emptySalted, Math.floor(MAX_SALTED_KEYS / MAX_RANGE_ITEMS))
      for (const part of parts) {
        if (full()) { cut = true; break }
        request(seq => ({ type: 'salted', sid, seq, salt, lists: part }))
      }
    }
    const ask = [...plan.ask, ...await this.#summaries(full() ? [] : plan.askKeys)]
    const tell = [...plan.tell, ...await this.#summaries(full() ? [] : plan.tellKeys)]
    if (full() && plan.askKeys.length + plan.tellKeys.length > 0) cut = true
    for (const [items, reply] of [[ask, true], [tell, false]] as const) {
      const sums = items.filter((s): s is Summary => s.contract !== null).sort((a, b) => byKey(a.key, b.key))
      const lacking = items.filter(s => s.contract === null).map(s => s.key).sort(byKey)
      const entries = [...sums.map(summary => ({ summary })), ...lacking.map(key => ({ key }))]
      const empty = encodeMessage({ type: 'sums', sid: sizing, seq: NUMBER_PLACEHOLDER, reply, sums: [], lacking: [] }).length + refsSize(sums)
      for (const part of this.#chunk(entries, e => 'summary' in e ? entrySize.summary(e.summary) : entrySize.lacking(e.key), empty)) {
        if (full()) { cut = true; break }
        const s = part.flatMap(e => 'summary' in e ? [e.summary] : [])
        const l = part.flatMap(e => 'key' in e ? [e.key] : [])
        request(seq => ({ type: 'sums', sid, seq, reply, sums: s, lacking: l }))
        session.progress.differ([...s.map(x => x.key), ...l])
      }
    }
    // Deltas still to compute get the room the limit leaves after those computed already.
    const room = limit - spent - plan.deltas.reduce((n, d) => n + deltaSize(d), 0)
    const since: Array<[string, Plain | undefined]> = [...plan.since, ...plan.fullKeys.map((k): [string, undefined] => [k, undefined])]
    let known: DeltaItem[] = []
    if (since.length > 0 && full()) {
      cut = true
    } else if (since.length > 0) {
      const r = await this.#deltasSince(since, room)
      known = r.items
      if (r.cut) cut = true
    }
    for (const [items, check] of [[plan.deltas, true], [known, false]] as const) {
      const deltas = [...items].sort((a, b) => byKey(a.key, b.key))
      const empty = encodeMessage({ type: 'deltas', sid: sizing, seq: NUMBER_PLACEHOLDER, check, items: [] }).length + refsSize(deltas)
      // Few enough items that the ack's hashes fit in a message too.
      const maxItems = Math.floor((this.#maxBytes - 64) / ACK_HASH_BYTES)
      for (const part of this.#chunk(deltas, deltaSize, empty, maxItems)) {
        if (seqs.length > 0 && full()) { cut = true; break }
        session.tally.keysSent += part.length
        request(seq => ({ type: 'deltas', sid, seq, check, items: part }), check ? distinctKeys(part) : null)
        session.progress.sent(part.map(d => d.key))
      }
    }
    if (cut) this.#stats.answersCut++
    return seqs
  }

  /** Acks the peer's request `re`, and keeps the ack to send again if the request comes again. */
  ack (session: Session, re: number, spawned: number[], hashes: Uint8Array[]): SyncAction {
    const action = this.#send(session.peer, { type: 'ack', sid: session.sid, re, spawned, hashes })
    session.acks.set(re, action.bytes)
    session.progress.bytesOut += action.bytes.length
    return action
  }

  #chunk<T> (entries: readonly T[], sizeOf: (t: T) => number, emptyBytes: number, maxCount?: number): T[][] {
    const { parts, oversize } = chunk(entries, sizeOf, emptyBytes, this.#maxBytes, maxCount)
    this.#stats.oversizeItems += oversize.length
    return parts
  }

  async #summaries (keys: readonly string[]): Promise<SumItem[]> {
    const out: SumItem[] = []
    for (const key of keys) {
      const s = await this.#store.summary(key)
      if (s !== undefined) out.push({ key, contract: s.contract, summary: s.summary })
    }
    return out
  }

  /**
   * What each key gained since the peer's summary (everything when undefined: it lacks the key), in
   * order, until their sizes pass `room` (the item that passes it is the last; at least one is computed).
   * A key with nothing to send counts as done.
   */
  async #deltasSince (since: ReadonlyArray<[string, Plain | undefined]>, room = Infinity): Promise<{ items: DeltaItem[], cut: boolean }> {
    const out: DeltaItem[] = []
    let used = 0
    let done = 0
    for (const [key, theirs] of since) {
      if (done > 0 && used >= room) break
      done++
      let d: Awaited<ReturnType<SyncStore['deltaFor']>>
      try {
        d = await this.#store.deltaFor(key, theirs)
      } catch (err) {
        // A remembered summary that is not this key's (an 8-byte prefix collided): send everything instead.
        if (!(err instanceof ContractError) || theirs === undefined) throw err
        d = await this.#store.deltaFor(key, undefined)
      }
      if (d === undefined) continue
      const item = { key, contract: d.contract, delta: d.delta }
      out.push(item)
      used += deltaSize(item)
    }
    return { items: out, cut: done < since.length }
  }
}

function byKey (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function loOf (e: RangeEntry): string {
  return 'fp' in e ? e.fp.lo : 'items' in e ? e.items.lo : e.sums.lo
}

const deltaSizes = new WeakMap<DeltaItem, number>()

/** A delta item's encoded size in a list (entrySize.deltaItem), computed once per item. */
export function deltaSize (d: DeltaItem): number {
  let n = deltaSizes.get(d)
  if (n === undefined) {
    n = entrySize.deltaItem(d)
    deltaSizes.set(d, n)
  }
  return n
}

export function distinctKeys (items: readonly DeltaItem[]): string[] {
  return [...new Set(items.map(d => d.key))]
}
