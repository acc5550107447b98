/**
 * Reconciliation sessions. A session runs between two peers over a direct
 * stream; either side may send *requests* (ranges, sums, deltas), each with a
 * sequence number of its own, and every request is answered by an *ack* that
 * names it and lists the requests its receiver sent in response ("spawned").
 * A side is done when all its requests are acked and every request the other
 * side announced has arrived; the initiator's session then counts as
 * completed. Unacked requests are sent again every little while, and a
 * request that comes again is acked again, so a lost message delays a session
 * rather than ending it. Sessions linger, idle, until the timeout (counted from
 * the last message received), so late or duplicated messages are recognized,
 * and follow-up requests still have a home.
 */
import { LruCache } from '../lru-cache.ts'
import type { Fingerprint } from './key-index.ts'
import type { MessageType, SessionId } from './messages.ts'
import { ProgressCounter, type SessionProgress } from './session-progress.ts'
import type { Journal } from './journal.ts'
import type { PeerId, SyncAction } from './types.ts'

export type Role = 'initiator' | 'responder'
export interface Outgoing { type: MessageType, bytes: Uint8Array, sentAt: number }

export class Session {
  readonly peer: PeerId
  /** The initiator's session counter. */
  readonly n: number
  readonly role: Role
  lastActivity: number
  /** Counted as completed (initiator) or found done (responder); it may still get late follow-ups. */
  completed = false
  /** Our requests not yet acked, with the distinct keys of each `deltas` request (its ack reports a hash per key, in that order). */
  readonly awaiting = new Map<number, readonly string[] | null>()
  /** Requests the peer announced in its acks and we have not received yet. */
  readonly expected = new Set<number>()
  /** Requests of the peer we have handled (duplicates are ignored). */
  readonly received = new Set<number>()
  /** Keys whose summary we sent again after the peer's ack showed it holds more: at most once per key. */
  readonly followedUp = new Set<string>()
  /** Our unacked requests' bytes and when they were last sent: re-sent until acked (links drop messages). Add with `hold`. */
  readonly outbox = new Map<number, Outgoing>()
  /** The bytes in `outbox`: memory the peer makes us hold until it acks (bounded per peer, peer-budget.ts). */
  unackedBytes = 0
  /** Our ack of each request of the peer, sent again if the request comes again (the ack may have been lost). */
  readonly acks = new Map<number, Uint8Array>()
  /** Our key space when the session began (a state peers may still be at), and how many keys its deltas changed since. */
  startDigest: Fingerprint | undefined
  changedKeys = 0
  /** What it exchanged, for the journal's 'session' record (journal.ts): keys received, changed here and sent, bytes both ways. */
  readonly tally = { keysReceived: 0, keysChanged: 0, keysSent: 0, bytesIn: 0, bytesOut: 0 }
  /** Its end was recorded in the journal. */
  #journaled = false
  /** We started it to pull a catch-up from a peer ahead of us. */
  pull = false
  /**
   * The peer's digest when we started it (digest-doubt.ts); for a session opened with salted lists
   * (salted.ts), the first key they left out (null: they reached the end); undefined otherwise.
   */
  theirDigest: Uint8Array | undefined
  saltedTo: string | null | undefined
  /** Keys known to differ, received, sent, and bytes: what `monoidb status` shows (session-progress.ts). */
  readonly progress: ProgressCounter
  #nextSeq = 0

  constructor (peer: PeerId, n: number, role: Role, now: number) {
    this.peer = peer
    this.n = n
    this.role = role
    this.lastActivity = now
    this.progress = new ProgressCounter(now)
  }

  /** The session id as our messages carry it. */
  get sid (): SessionId { return { n: this.n, fromInitiator: this.role === 'initiator' } }

  /** Work is under way: a request of ours is unanswered or one of theirs is still to come. */
  get busy (): boolean { return this.awaiting.size > 0 || this.expected.size > 0 }

  /** In flight: not yet done, or reopened by a follow-up. */
  get active (): boolean { return !this.completed || this.busy }

  /** Registers a new request of ours and returns its sequence number. */
  request (deltaKeys: readonly string[] | null = null): number {
    const seq = this.#nextSeq++
    this.awaiting.set(seq, deltaKeys)
    return seq
  }

  /** Keeps our request `seq` for resending until it is acked. */
  hold (seq: number, out: Outgoing): void {
    const old = this.outbox.get(seq)
    if (old !== undefined) this.unackedBytes -= old.bytes.length
    this.outbox.set(seq, out)
    this.unackedBytes += out.bytes.length
  }

  /** Takes the ack of our request `re`: the request's delta keys (null if it was not `deltas`), or undefined if `re` is not awaited. */
  takeAck (re: number, spawned: readonly number[]): readonly string[] | null | undefined {
    const keys = this.awaiting.get(re)
    if (keys === undefined) return undefined
    this.awaiting.delete(re)
    const out = this.outbox.get(re)
    if (out !== undefined) this.unackedBytes -= out.bytes.length
    this.outbox.delete(re)
    for (const s of spawned) if (!this.received.has(s)) this.expected.add(s)
    return keys
  }

  /** Takes a request of the peer; false for a duplicate. */
  takeRequest (seq: number): boolean {
    if (this.received.has(seq)) return false
    this.received.add(seq)
    this.expected.delete(seq)
    return true
  }

  /** Counts the bytes `actions` send to this session's peer, for the journal. */
  tallySent (actions: readonly SyncAction[]): void {
    for (const a of actions) if (a.type === 'send' && a.to === this.peer) this.tally.bytesOut += a.bytes.length
  }

  /** Records the session's end in `journal`, once: what it exchanged; `ok` false when it timed out or was dropped. */
  journalEnd (journal: Journal | undefined, ok: boolean, now: number): void {
    if (this.#journaled) return
    this.#journaled = true
    journal?.record({ kind: 'session', key: '', peer: this.peer, ...this.tally, ok }, now)
  }
}

/** At most one session per peer in each role: the one we started, and the one it started. */
export class SessionTable {
  readonly mine = new Map<PeerId, Session>()
  readonly theirs = new Map<PeerId, Session>()

  /** Each session in flight: keys known to differ, received and sent so far, bytes (session-progress.ts). */
  progress (): SessionProgress[] {
    return [...this.mine.values(), ...this.theirs.values()].filter(s => s.active).map(s => s.progress.snapshot(s.peer, s.role, s.pull, { in: s.received.size, due: s.expected.size }))
  }
  /** Sessions started by peers that we closed, so their late messages do not reopen them. */
  readonly #closed = new LruCache<string, true>(1024)

  activeInitiated (): number {
    let n = 0
    for (const s of this.mine.values()) if (s.active) n++
    return n
  }

  /** Some peer's session with us is in flight. */
  beingServed (): boolean {
    for (const s of this.theirs.values()) if (s.active) return true
    return false
  }

  /** Bytes of our messages to `peer`, in either session with it, not yet acked. */
  unackedWith (peer: PeerId): number {
    return (this.mine.get(peer)?.unackedBytes ?? 0) + (this.theirs.get(peer)?.unackedBytes ?? 0)
  }

  inFlightWith (peer: PeerId): boolean {
    return this.mine.get(peer)?.active === true || this.theirs.get(peer)?.busy === true
  }

  /** The session a message from `peer` with `sid` belongs to, if we hold it (`sid` as the sender sees it). */
  find (peer: PeerId, sid: SessionId): Session | undefined {
    const s = sid.fromInitiator ? this.theirs.get(peer) : this.mine.get(peer)
    return s !== undefined && s.n === sid.n ? s : undefined
  }

  /**
   * Whether a request of a session we do not hold is ignored: it is not the initiator's (a session of ours
   * that ended), we closed that session, or the peer started it while ours with it is in flight and the
   * smaller initiator id, ours (`self`), wins the tie-break.
   */
  ignores (peer: PeerId, sid: SessionId, self: PeerId): boolean {
    if (!sid.fromInitiator || this.wasClosed(peer, sid.n)) return true
    return this.mine.get(peer)?.active === true && self < peer
  }

  /** The peer started a session while ours with it is in flight, and won the tie-break: ours is dropped. True if one was. */
  yieldTo (peer: PeerId): boolean {
    if (this.mine.get(peer)?.active !== true) return false
    this.mine.delete(peer)
    return true
  }

  /** Whether we closed the peer's session `n` (its late messages must not reopen it). */
  wasClosed (peer: PeerId, n: number): boolean {
    return this.#closed.has(`${n} ${peer}`)
  }

  /** Opens the responder side of a session `peer` started, replacing an older one; undefined if that session was closed. */
  openTheirs (peer: PeerId, n: number, now: number): Session | undefined {
    if (this.#closed.has(`${n} ${peer}`)) return undefined
    this.closeTheirs(peer)
    const s = new Session(peer, n, 'responder', now)
    this.theirs.set(peer, s)
    return s
  }

  openMine (peer: PeerId, n: number, now: number): Session {
    const s = new Session(peer, n, 'initiator', now)
    this.mine.set(peer, s)
    return s
  }

  closeTheirs (peer: PeerId): void {
    const s = this.theirs.get(peer)
    if (s === undefined) return
    this.#closed.set(`${s.n} ${peer}`, true)
    this.theirs.delete(peer)
  }

  /** Removes and returns the sessions idle for `timeoutMs` or more. */
  expire (now: number, timeoutMs: number): Session[] {
    const out: Session[] = []
    for (const s of [...this.mine.values(), ...this.theirs.values()]) {
      if (now - s.lastActivity < timeoutMs) continue
      out.push(s)
      if (s.role === 'initiator') this.mine.delete(s.peer); else this.closeTheirs(s.peer)
    }
    return out
  }

  /**
   * Requests due for sending again (their last send is `afterMs` old), marked as sent now. Those to a
   * peer for which `wait` holds are marked too but not returned (they are due again `afterMs` later),
   * and counted in `waited`.
   */
  resend (now: number, afterMs: number, wait: (peer: PeerId) => boolean = () => false): { due: Array<{ peer: PeerId, type: MessageType, bytes: Uint8Array }>, waited: number } {
    const due: Array<{ peer: PeerId, type: MessageType, bytes: Uint8Array }> = []
    let waited = 0
    for (const s of [...this.mine.values(), ...this.theirs.values()]) {
      let waits: boolean | undefined
      for (const m of s.outbox.values()) {
        if (now - m.sentAt < afterMs) continue
        m.sentAt = now
        waits ??= wait(s.peer)
        if (waits) waited++
        else due.push({ peer: s.peer, type: m.type, bytes: m.bytes })
      }
    }
    return { due, waited }
  }

  /** The earliest time a request is due for sending again. */
  nextResend (afterMs: number): number | undefined {
    let t: number | undefined
    for (const s of [...this.mine.values(), ...this.theirs.values()]) {
      for (const m of s.outbox.values()) if (t === undefined || m.sentAt + afterMs < t) t = m.sentAt + afterMs
    }
    return t
  }

  /** The earliest time a session will expire. */
  nextExpiry (timeoutMs: number): number | undefined {
    let t: number | undefined
    for (const s of [...this.mine.values(), ...this.theirs.values()]) {
      const at = s.lastActivity + timeoutMs
      if (t === undefined || at < t) t = at
    }
    return t
  }
}
