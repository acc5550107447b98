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
  /** Of those, deltas of contracts this peer does not have, by contract id: not merged (a daemon may load the contract later). */
  unknownContracts: Record<string, number>
  /** Received deltas of keys this peer does not keep (partial replication): dropped unmerged. */
  notReplicated: number
  /** Wants answered with a push of the key's whole state. */
  wantsAnswered: number
  /** Items too large for any message (over maxMessageBytes on their own): not sent. */
  oversizeItems: number
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
    unknownContracts: {},
    notReplicated: 0,
    wantsAnswered: 0,
    oversizeItems: 0,
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

/** A deep copy, so callers can keep a snapshot. */
export function copyStats (s: SyncStats): SyncStats {
  const perType = {} as Record<MessageType, TrafficCounts>
  for (const t of MESSAGE_TYPES) perType[t] = { ...s.perType[t] }
  return { ...s, perType, unknownContracts: { ...s.unknownContracts } }
}
