/**
 * What we send in a session, as a Plan (reconcile.ts): how we open one, how
 * we answer the peer's requests (ranges, summaries, deltas), and what we
 * follow up with when its ack shows it still differs.
 */
import { ACK_HASH_BYTES, type Message, fpOffset } from './messages.ts'
import type { DeltaMerger } from './merger.ts'
import type { LocalView } from './local-view.ts'
import { sameHash } from './key-index.ts'
import { Plan, type SumItem, answerFp, answerItems, answerSumList, answerSums, describeRange } from './reconcile.ts'
import { answerSalted } from './salted.ts'
import { deltaSize, distinctKeys } from './session-output.ts'
import type { Session } from './session.ts'
import type { SyncStats } from './stats.ts'
import type { PeerId, SyncStore } from './types.ts'

/** The ack hash of a key the acking peer does not hold. */
export const NOT_HELD = new Uint8Array(ACK_HASH_BYTES)

export type Request = Extract<Message, { seq: number }>

/** `keeps`: whether this peer keeps a key (partial replication; always true for a replicate-all peer). */
export interface Context { store: SyncStore, view: LocalView, merger: DeltaMerger, stats: SyncStats, keeps: (key: string) => boolean }

/**
 * The first requests of a session we start with a peer whose digest differs from ours:
 * - `pull`: it told us our state is a past state of its own; our whole key space as one range,
 *   which it answers with a catch-up;
 * - `behind`: its digest is a past state of ours and it did not come to pull: what it lacks;
 * - `full`: our view of everything, as we would answer a range, split into parts, so the peer
 *   can catch us up at once in the parts where we are behind.
 */
export function openingPlan (view: LocalView, stats: SyncStats, kind: 'pull' | 'behind' | 'full', theirs: Uint8Array): Plan {
  if (kind === 'pull') {
    const plan = new Plan()
    // A range fingerprint (XOR), not the digest: the peer compares it with its own ranges and past ranges.
    const mine = view.index.fingerprint('')
    plan.fps.push({ lo: '', hi: null, count: mine.count, fp: mine.fp })
    return plan
  }
  if (kind === 'behind') {
    const plan = view.catchUpPlan({ fp: theirs })
    if (plan !== undefined) { stats.catchUps++; return plan }
  }
  const plan = new Plan()
  describeRange(view.index, view.history, '', null, undefined, plan)
  return plan
}

/** Summaries answered at a time, between checks of the room left (deltas computed from summaries can be large). */
const SUMS_AT_ONCE = 16

/**
 * Handles a new request of the peer: the plan of our answer, and the hashes our ack reports (for `deltas`
 * with `check`). `room`: the bytes our answer may cost (peer-budget.ts); summaries stop being answered
 * once the deltas computed for them pass it (the rest is found again by a later session).
 */
export async function answerRequest (c: Context, from: PeerId, session: Session, msg: Request, room = Infinity, bytes = 0): Promise<{ plan: Plan, hashes: Uint8Array[] }> {
  let used = 0
  const answerSumsWithin = async (items: readonly SumItem[], reply: boolean, plan: Plan): Promise<void> => {
    for (let i = 0; i < items.length && used < room; i += SUMS_AT_ONCE) {
      const before = plan.deltas.length
      await answerSums(c.store, c.view.index, items.slice(i, i + SUMS_AT_ONCE), reply, plan)
      for (const d of plan.deltas.slice(before)) used += deltaSize(d)
      if (used >= room && i + SUMS_AT_ONCE < items.length) c.stats.answersCut++
    }
  }
  const { index, history, changes } = c.view
  const plan = new Plan()
  if (msg.type === 'ranges') {
    // A range the peer holds as we held it at some point lacks exactly what changed in it since: no need to narrow it down.
    const offset = fpOffset(msg.sid)
    const past = changes.matchRanges(msg.fps, index, offset)
    session.progress.gap(msg.fps.reduce((n, r) => n + Math.max(0, r.count - index.fingerprint(r.lo, r.hi ?? undefined).count), 0))
    msg.fps.forEach((r, i) => {
      const changed = past[i]
      if (changed === undefined) { answerFp(index, history, r, plan, offset); return }
      c.view.addCatchUp(plan, changed)
      c.stats.catchUps++
    })
    for (const r of msg.items) answerItems(index, history, r, plan)
    for (const r of msg.sums) {
      if (used >= room) { c.stats.answersCut++; break }
      const before = plan.deltas.length
      await answerSumList(c.store, index, r, plan)
      for (const d of plan.deltas.slice(before)) used += deltaSize(d)
    }
    return { plan, hashes: [] }
  }
  if (msg.type === 'salted') {
    for (const r of msg.lists) answerSalted(index, msg.salt, r, plan)
    // Keys we do not keep (partial replication) we do not ask for.
    plan.ask.splice(0, plan.ask.length, ...plan.ask.filter(a => c.keeps(a.key)))
    session.progress.differ([...plan.fullKeys, ...plan.ask.map(s => s.key), ...plan.askKeys])
    return { plan, hashes: [] }
  }
  if (msg.type === 'sums') {
    // A key we do not keep: we neither ask for it nor answer for it (a partial peer's own keys, see partial-peers.ts).
    const lacking = msg.lacking.filter(c.keeps).map(key => ({ key, contract: null, summary: null }))
    // Nor for one whose contract we cannot merge (unknown here, or not the key's): asking again would not help.
    const sums = msg.sums.filter(s => c.keeps(s.key) && !c.merger.unmergeable(s.key, s.contract))
    await answerSumsWithin([...sums, ...lacking], msg.reply, plan)
    // Differing: the keys our answer sends or asks about (a partial peer's summaries include equal keys).
    session.progress.differ([...plan.deltas.map(d => d.key), ...plan.ask.map(s => s.key), ...plan.askKeys, ...plan.tell.map(s => s.key), ...plan.tellKeys])
    return { plan, hashes: [] }
  }
  // Deltas of a session we started to pull from a peer ahead of us are a catch-up; any other session's, a repair.
  const changed = await c.merger.merge(from, msg.items, { path: session.pull ? 'catch-up' : 'repair', bytes })
  session.changedKeys += changed
  session.tally.keysReceived += msg.items.length
  session.tally.keysChanged += changed
  // Tell the sender what we now hold, if it asked: the only way it learns whether we hold more than it does.
  const hashes = msg.check ? distinctKeys(msg.items).map(key => index.get(key)?.subarray(0, ACK_HASH_BYTES) ?? NOT_HELD) : []
  return { plan, hashes }
}

/** Keys of our acked `deltas` where the peer, having merged them, still differs from us and holds more: we send our summary. */
export function followUp (view: LocalView, session: Session, keys: readonly string[], hashes: readonly Uint8Array[]): Plan {
  const plan = new Plan()
  if (hashes.length !== keys.length) return plan
  keys.forEach((key, i) => {
    const mine = view.index.get(key)
    const theirs = hashes[i]
    if (mine === undefined || sameHash(theirs, NOT_HELD) || sameHash(mine.subarray(0, ACK_HASH_BYTES), theirs) || session.followedUp.has(key)) return
    // A state our key has had (we moved on since we sent the deltas): the peer holds nothing we lack.
    if (view.history.recall(theirs) !== undefined) return
    session.followedUp.add(key)
    plan.tellKeys.push(key)
  })
  return plan
}
