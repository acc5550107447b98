/** The sync engine's counters: what the simulator and the daemon report. */
import { MESSAGE_TYPES, type MessageType } from './messages.ts'

export interface TrafficCounts { messagesSent: number, bytesSent: number, messagesReceived: number, bytesReceived: number }

export interface SyncStats extends TrafficCounts {
  /** The same counts per message type (bytes that did not decode count only in the totals and in `badMessages`). */
  perType: Record<MessageType, TrafficCounts>
  /** Delta items received, in pushes and in sessions. */
  deltasReceived: number
  /** Received deltas that changed nothing: dropped by content hash before merging, or merged without effect. */
  redundantDeltas: number
  /** Received deltas the store refused (invalid for the contract, bound to another contract, or of a contract this peer lacks). */
  rejectedDeltas: number
  /**
   * Of those, deltas of contracts this peer does not have (or has in another version), by contract name
   * (`id`, or `id::version`): not merged (a daemon may load the contract later). Bounded: see TopCounts.
   */
  unknownContracts: TopCounts
  /** Received deltas of keys this peer does not keep (partial replication): dropped unmerged. */
  notReplicated: number
  /** Wants answered with a push of the key's whole state. */
  wantsAnswered: number
  /** Items too large for any message (over maxMessageBytes on their own): not sent. */
  oversizeItems: number
  /** Local changes too large for a gossiped push (over MAX_GOSSIP_PUSH_BYTES): not pushed; sessions carry them. */
  sessionOnlyItems: number
  /** Received bytes that were not a valid message: counted and dropped. */
  badMessages: number
  /** Sessions answered (or started) with a catch-up: the peer was at a past state of ours, so it got what changed since, no reconciliation. */
  catchUps: number
  /** Session requests sent again because no ack came in time. */
  retransmits: number
  sessionsStarted: number
  sessionsCompleted: number
  sessionsTimedOut: number
  /** Sessions this peer started and gave up without a timeout: lost a tie-break, or the peer left. */
  sessionsDropped: number
  digestsSent: number
  /** Peers' requests refused for their limits (PROTOCOL.md §10): not answered; an honest sender sends them again. Per peer: `SyncEngine.peerCosts()`. */
  requestsRefused: number
  /** Answers (or follow-ups) cut short at the peer's byte allowance: the rest is found again by a later session. */
  answersCut: number
  /** Resends held back because the peer had spent its bytes for now (sent a resend interval later). */
  resendsWaited: number
}

/**
 * Counts by name in bounded memory, whatever names peers make up: a table of at most `kept` names
 * (UNKNOWN_CONTRACTS_KEPT live, UNKNOWN_CONTRACTS_REPORTED in copies) and `others`, the count of
 * every name not in it. When the table is full, a new name takes the place of the one with the
 * smallest count, whose count moves to `others`: a flood of made-up names churns only the bottom of
 * the table, and a name counted often stays. The counts always add up to the total.
 */
export interface TopCounts { byId: Record<string, number>, others: number }

/** Names the live table holds (each a contract name of ≤ 64 bytes: a few tens of KB at most). */
export const UNKNOWN_CONTRACTS_KEPT = 256
/** Names reported in stats and status, the largest counts. */
export const UNKNOWN_CONTRACTS_REPORTED = 20

/** Adds `n` to `name`'s count, keeping at most `kept` names in `t.byId`. */
export function countTop (t: TopCounts, name: string, n = 1, kept = UNKNOWN_CONTRACTS_KEPT): void {
  // Own properties only: a name such as "constructor" must not read Object.prototype.
  if (Object.hasOwn(t.byId, name)) { t.byId[name] += n; return }
  const names = Object.keys(t.byId)
  if (names.length >= kept) {
    let min = names[0]
    for (const k of names) if (t.byId[k] < t.byId[min]) min = k
    t.others += t.byId[min]
    delete t.byId[min]
  }
  t.byId[name] = n
}

/** The `n` largest counts (ties in name order), the rest summed into `others`. */
export function topOf (t: TopCounts, n = UNKNOWN_CONTRACTS_REPORTED): TopCounts {
  const sorted = Object.entries(t.byId).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
  let others = t.others
  for (const [, c] of sorted.slice(n)) others += c
  return { byId: Object.fromEntries(sorted.slice(0, n)), others }
}

function traffic (): TrafficCounts {
  return { messagesSent: 0, bytesSent: 0, messagesReceived: 0, bytesReceived: 0 }
}

export function emptyStats (): SyncStats {
  const perType = {} as Record<MessageType, TrafficCounts>
  for (const t of MESSAGE_TYPES) perType[t] = traffic()
  return {
    ...traffic(),
    perType,
    deltasReceived: 0,
    redundantDeltas: 0,
    rejectedDeltas: 0,
    unknownContracts: { byId: {}, others: 0 },
    notReplicated: 0,
    wantsAnswered: 0,
    oversizeItems: 0,
    sessionOnlyItems: 0,
    badMessages: 0,
    catchUps: 0,
    retransmits: 0,
    sessionsStarted: 0,
    sessionsCompleted: 0,
    sessionsTimedOut: 0,
    sessionsDropped: 0,
    digestsSent: 0,
    requestsRefused: 0,
    answersCut: 0,
    resendsWaited: 0
  }
}

export function countSent (s: SyncStats, type: MessageType, bytes: number): void {
  s.messagesSent++
  s.bytesSent += bytes
  s.perType[type].messagesSent++
  s.perType[type].bytesSent += bytes
}

export function countReceived (s: SyncStats, type: MessageType | undefined, bytes: number): void {
  s.messagesReceived++
  s.bytesReceived += bytes
  if (type === undefined) return
  s.perType[type].messagesReceived++
  s.perType[type].bytesReceived += bytes
}

/** A deep copy, so callers can keep a snapshot; unknown contracts as their largest counts (topOf). */
export function copyStats (s: SyncStats): SyncStats {
  const perType = {} as Record<MessageType, TrafficCounts>
  for (const t of MESSAGE_TYPES) perType[t] = { ...s.perType[t] }
  return { ...s, perType, unknownContracts: topOf(s.unknownContracts) }
}
