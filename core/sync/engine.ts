/**
 * The sync engine: one peer's side of the protocol, sans I/O. Events go in
 * (a local update, bytes from a peer, a peer joining or leaving, a
 * subscription, a timer tick with the time), actions come out (publish on a
 * topic, send to a peer). It pushes local changes in batches, merging the
 * pushes it receives at once; publishes a digest of its whole key space every
 * anti-entropy period; and reconciles with peers whose digest differs
 * (reconcile.ts, session.ts): peers at a past state of ours are told so and
 * pull a catch-up, the others get a full session, started at a random time
 * within a period (peer-table.ts). What it believes about a peer changes only
 * on that peer's own messages: its digests and its acks. A peer that keeps
 * only some keys (an `interest`) reconciles those by summaries instead, and
 * asks for keys it wants by a `want` (partial-sync.ts). PROTOCOL.md
 * describes the protocol byte by byte.
 */
import { type Plain, encode } from '../codec.ts'
import type { BoundRef } from '../subscription.ts'
import type { ClockSkew } from './clock-skew.ts'
import { resendMs, resolveConfig } from './config.ts'
import { DigestDoubts } from './digest-doubt.ts'
import { bytesKey } from './generational-cache.ts'
import { LocalView } from './local-view.ts'
import { Journal } from './journal.ts'
import { type DeltaItem, type Message, decodeMessage, encodeMessage } from './messages.ts'
import { DeltaMerger } from './merger.ts'
import { PartialSync } from './partial-sync.ts'
import type { PeerCost } from './peer-budget.ts'
import { PeerGate } from './peer-gate.ts'
import { relayForOlder } from './older-peers.ts'
import { PeerTable } from './peer-table.ts'
import { PushQueue } from './push-queue.ts'
import { Plan } from './reconcile.ts'
import { type Request, answerRequest, followUp, openingPlan } from './respond.ts'
import { saltedPlan } from './salted.ts'
import { SessionOutput } from './session-output.ts'
import { type Session, SessionTable } from './session.ts'
import type { SessionProgress } from './session-progress.ts'
import { type SyncStats, copyStats, countReceived, countSent, emptyStats } from './stats.ts'
import { DIGEST_TOPIC, PUSH_TOPIC, WRITES_TOPIC, type PeerId, type SendAction, type SyncAction, type SyncConfig, type SyncOptions, type SyncStore } from './types.ts'

export type { SyncStats } from './stats.ts'
export type { ClockSkew } from './clock-skew.ts'
export type { Misbehaviour, PeerCost } from './peer-budget.ts'
export type { SessionProgress } from './session-progress.ts'
export { DEFAULT_SYNC_CONFIG } from './config.ts'

/** Digest periods vary by ±10% so peers do not publish in lockstep. */
const PERIOD_JITTER = 0.1
/**
 * After a session whose deltas changed at least this many of our keys per peer we know, we publish our
 * digest with the state we began it from: peers still at that state pull a catch-up from us instead of
 * narrowing down the same difference with someone else (about 40 bytes saved per key). The announcement
 * costs about 40 bytes per peer; below this it would rarely pay for itself.
 */
export const ANNOUNCE_KEYS_PER_PEER = 4

export class SyncEngine {
  readonly #self: PeerId
  readonly #config: SyncConfig
  readonly #random: () => number
  readonly #store: SyncStore
  readonly #view: LocalView
  readonly #stats = emptyStats()
  readonly #push: PushQueue
  readonly #merger: DeltaMerger
  readonly #output: SessionOutput
  readonly #sessions = new SessionTable()
  readonly #peers: PeerTable
  /** Per peer, sessions that found nothing while digests differed: enough of them open salted ones (digest-doubt.ts). */
  readonly #doubts = new DigestDoubts()
  /** What each peer may make us do (peer-budget.ts). */
  /** Per-peer limits (peer-gate.ts): the host charges inspection questions and answers here too (PROTOCOL.md §13). */
  readonly limits: PeerGate
  /** Partial replication: this peer's, or its partial neighbours' (partial-sync.ts). */
  readonly #partial: PartialSync
  #nextDigestAt: number
  #counter: number
  /** What this peer exchanged, key by key (journal.ts): SyncOptions.journal, or one of its own; undefined if that is null. */
  readonly journal: Journal | undefined

  private constructor (store: SyncStore, view: LocalView, options: SyncOptions, config: SyncConfig) {
    this.#self = options.self
    this.#config = config
    this.#random = options.random ?? Math.random
    this.#store = store
    this.#view = view
    this.#push = new PushQueue(config.pushWindowMs, config.maxPushWindowMs)
    this.#peers = new PeerTable(config.antiEntropyMs, this.#random)
    this.limits = new PeerGate(config, this.#stats, options.onMisbehaviour)
    this.journal = options.journal === null ? undefined : options.journal ?? new Journal()
    this.#merger = new DeltaMerger(store, view.history, this.#stats, key => this.keeps(key), this.journal)
    this.#merger.onInvalid = peer => { if (peer !== this.#self) this.limits.misbehaved(peer, 'bad_message', this.#merger.now ?? 0) }
    this.#output = new SessionOutput(store, this.#stats, config.maxMessageBytes, (to, msg) => this.#send(to, msg))
    this.#partial = new PartialSync({
      interest: options.interest,
      view,
      merger: this.#merger,
      stats: this.#stats,
      sessions: this.#sessions,
      output: this.#output,
      config,
      publish: (topic, msg) => this.#publish(topic, msg),
      send: (to, msg) => this.#send(to, msg),
      nextSession: () => this.#counter++
    })
    // A random first phase and counter: peers started together do not publish together, and a restart does not reuse session ids.
    this.#nextDigestAt = options.now + this.#random() * config.antiEntropyMs
    this.#counter = Math.floor(this.#random() * 2 ** 31)
  }

  /** Reads the store's key space into the digest index, then follows its commits. */
  static async create (store: SyncStore, options: SyncOptions): Promise<SyncEngine> {
    if (typeof options?.self !== 'string' || options.self.length === 0) throw new TypeError('SyncEngine needs options.self, a non-empty peer id')
    if (!Number.isFinite(options.now)) throw new TypeError('SyncEngine needs options.now, the current time in ms')
    const config = resolveConfig(options.config)
    return new SyncEngine(store, await LocalView.load(store), options, config)
  }

  /**
   * Notes a committed local update for the next push. The push carries what the key gained since
   * its state before the update, computed from the store when the window closes, so several updates
   * of a key make one item; the op's own delta is not needed. Returns nothing: the push goes out
   * from `tick` when the window passes.
   */
  localUpdate (key: string, _contract: BoundRef, delta: Plain, now: number, write?: string): SyncAction[] {
    this.#push.add(key, this.#view.before(key), now, write)
    this.journal?.record({ kind: 'written', key, peer: this.#self, path: 'local', writes: write === undefined ? [] : [write], bytes: encode(delta).length }, now)
    return []
  }

  /** Whether this peer keeps the key: always for a replicate-all peer; else if it holds or wants it. */
  keeps (key: string): boolean {
    return this.#partial.keeps(key)
  }

  /** The contract of a recent delta for `key` we could not merge because we lack that contract, if any. */
  unknownContractOf (key: string): string | undefined {
    return this.#merger.unknownContractOf(key)
  }

  /** Asks every peer for keys we want and do not hold (the caller has made `interest` want them): a holder pushes them. */
  want (keys: readonly string[], now: number): SyncAction[] {
    this.#merger.now = now
    return this.#partial.want(keys)
  }

  /** Handles any message from `from`. Bytes that are not a valid message are counted (against the peer too) and dropped. */
  async receive (from: PeerId, bytes: Uint8Array, now: number): Promise<SyncAction[]> {
    let msg: Message
    try {
      msg = decodeMessage(bytes)
    } catch {
      countReceived(this.#stats, undefined, bytes instanceof Uint8Array ? bytes.length : 0)
      this.#stats.badMessages++
      if (from !== this.#self) this.limits.misbehaved(from, 'bad_message', now)
      return []
    }
    countReceived(this.#stats, msg.type, bytes.length)
    if (from === this.#self) return []
    this.#merger.now = now
    switch (msg.type) {
      case 'push':
        // What a partial peer pushes, it holds.
        this.#partial.learn(from, msg.items.map(i => i.key))
        await this.#merger.merge(from, msg.items, { path: 'push', bytes: bytes.length })
        return []
      case 'writes': {
        this.#partial.learn(from, msg.items.map(i => i.key))
        const accepted: DeltaItem[] = []
        await this.#merger.merge(from, msg.items, { path: 'push', bytes: bytes.length, writes: msg.writes, accepted })
        return accepted.length === 0 ? [] : [relayForOlder(this.#stats, accepted)]
      }
      case 'digest': return await this.#onDigest(from, msg, now)
      case 'ack': return await this.#onAck(from, msg, now, bytes.length)
      case 'want': return await this.#partial.onWant(from, msg.keys, now)
      case 'scope': this.#partial.onScope(from, msg.fp); return []
      default: return await this.#onRequest(from, msg, now, bytes.length)
    }
  }

  /** A peer connected (or reconnected): its sessions with us are stale; send it our digest. */
  peerJoined (peer: PeerId, now: number): SyncAction[] {
    this.#merger.now = now
    this.#dropSessions(peer)
    this.#partial.joined(peer)
    return [this.#digest(peer)]
  }

  peerLeft (peer: PeerId, now: number): SyncAction[] {
    this.#merger.now = now
    this.#dropSessions(peer)
    this.#peers.forget(peer)
    this.#doubts.forget(peer)
    this.#partial.left(peer)
    return []
  }

  /**
   * We subscribed to a key: a replicate-all peer publishes its digest now, so peers holding more of it
   * answer; a partial peer asks for the key if it does not hold it.
   */
  subscribed (key: string, now: number): SyncAction[] {
    return this.#partial.partial ? this.want([key], now) : [this.#digest()]
  }

  async tick (now: number): Promise<SyncAction[]> {
    this.#merger.now = now
    const actions: SyncAction[] = []
    const due = this.#push.takeDue(now)
    if (due !== undefined) actions.push(...await this.#publishPushes(due))
    if (now >= this.#nextDigestAt) {
      actions.push(this.#digest())
      actions.push(...await this.#partial.antiEntropy(now))
      this.#nextDigestAt = now + this.#config.antiEntropyMs * (1 - PERIOD_JITTER + 2 * PERIOD_JITTER * this.#random())
    }
    for (const s of this.#sessions.expire(now, this.#config.sessionTimeoutMs)) {
      s.journalEnd(this.journal, false, now)
      if (s.role === 'initiator' && !s.completed) { this.#stats.sessionsTimedOut++; this.#partial.failed(s.peer) }
    }
    // A resend costs the peer's bytes like an answer; to a peer that spent them, it waits (an interval).
    const resends = this.#sessions.resend(now, resendMs(this.#config), peer => this.limits.budgets.inDebt(peer, now))
    this.#stats.resendsWaited += resends.waited
    for (const { peer, type, bytes } of resends.due) {
      this.#stats.retransmits++
      countSent(this.#stats, type, bytes.length)
      this.limits.budgets.charge(peer, bytes.length, now)
      actions.push({ type: 'send', to: peer, bytes })
    }
    this.#peers.expire(now)
    actions.push(...await this.#startSessions(now))
    return actions
  }

  /** Pushes what waits for its window now (before stopping: nothing is left for anti-entropy alone). */
  async flush (_now: number): Promise<SyncAction[]> {
    const dirty = this.#push.takeAll()
    return dirty === undefined ? [] : await this.#publishPushes(dirty)
  }

  /**
   * Our pushes of keys changed locally (see DeltaMerger.pushes), published as `writes` pushes (type 9,
   * naming the writes they carry) on their topic, each with its type-1 form for peers that do not hear
   * that topic (peers before type 9: the transport publishes it only if some peer is such).
   */
  async #publishPushes (dirty: ReadonlyMap<string, Uint8Array | null>): Promise<SyncAction[]> {
    // Writes whose ids the caller did not give (localUpdate without `write`) go as plain pushes.
    const writes = this.#push.takenWrites()
    const pushes = await this.#merger.pushes(dirty, this.#config.maxMessageBytes, false, writes.size === 0 ? undefined : writes)
    return pushes.map(m => {
      const action = this.#publish(m.type === 'writes' ? WRITES_TOPIC : PUSH_TOPIC, m)
      if (m.type === 'writes' && action.type === 'publish') action.legacy = { topic: PUSH_TOPIC, bytes: () => encodeMessage({ type: 'push', items: m.items }) }
      return action
    })
  }

  nextWakeup (): number | undefined {
    const times = [
      this.#nextDigestAt,
      this.#push.due,
      this.#sessions.nextExpiry(this.#config.sessionTimeoutMs),
      this.#sessions.nextResend(resendMs(this.#config)),
      this.#mayStart() ? this.#peers.nextDue(this.#view.digest().fp, p => this.#sessions.inFlightWith(p)) : undefined
    ].filter((t): t is number => t !== undefined)
    return Math.min(...times)
  }

  stats (): SyncStats {
    return copyStats(this.#stats)
  }

  /** Each peer's clock skew as estimated from the stamps it sent (core/sync/clock-skew.ts), furthest ahead first. */
  clockSkew (now: number): ClockSkew[] {
    return this.#merger.skew.estimates(now)
  }

  /**
   * Whether the peer's last digest (heard within 4 periods) equals ours now; undefined when unknown: no
   * recent digest, or digests over different key sets (a partial peer and a replicate-all one).
   */
  peerInSync (peer: PeerId): boolean | undefined {
    if (this.#partial.partial) return this.#partial.inSync(peer)
    const theirs = this.#peers.lastDigest(peer)
    return theirs === undefined ? undefined : bytesKey(theirs) === bytesKey(this.#view.digest().fp)
  }

  /** Per peer (the last 1,024 seen), what it was refused and how many bad messages it sent: only peers with any. */
  peerCosts (): Record<PeerId, PeerCost> {
    return this.limits.costs()
  }

  /** Each session in flight: keys known to differ, received and sent so far, bytes (session-progress.ts). */
  sessionsProgress (): SessionProgress[] {
    return this.#sessions.progress()
  }

  /** How many keys the store holds (the digest index follows every commit: no scan). */
  keyCount (): number {
    return this.#view.index.size
  }

  /** Stops following the store. */
  close (): void {
    this.#view.close()
  }

  // ---- digests, and whom we start sessions with ----------------------------------------------------

  /** Our digest, published or sent to one peer; `was`: a past state of ours to announce (see #onDigest). */
  #digest (to?: PeerId, was?: Uint8Array): SyncAction {
    this.#stats.digestsSent++
    const msg: Message = { type: 'digest', fp: this.#view.digest().fp, ...(was === undefined ? {} : { was }), ...(this.#partial.partial ? { partial: true } : {}) }
    return to === undefined ? this.#publish(DIGEST_TOPIC, msg) : this.#send(to, msg)
  }

  async #onDigest (from: PeerId, d: Extract<Message, { type: 'digest' }>, now: number): Promise<SyncAction[]> {
    // Partial replication's digests are compared by no one (partial-sync.ts).
    const partial = this.#partial.onDigest(from, d)
    if (partial !== undefined) {
      this.#peers.forget(from)
      return partial
    }
    // The peer held our current state before: it is ahead of us, and we can pull a catch-up from it.
    const mine = this.#view.digest().fp
    if (d.was !== undefined) this.#peers.ahead(from, d.was, mine, now)
    const { hint } = this.#peers.digest(from, d.fp, mine, this.#view.changes.behindUs(d), now)
    if (bytesKey(d.fp) === bytesKey(mine)) this.#doubts.inSync(from)
    // Our session with the peer heard nothing for a whole period, and the peer's digest still differs: start afresh.
    const stale = this.#sessions.mine.get(from)
    if (this.#peers.isCandidate(from) && stale !== undefined && stale.active && now - stale.lastActivity >= this.#config.antiEntropyMs) {
      this.#sessions.mine.delete(from)
      this.#stats.sessionsTimedOut++
    }
    const actions = hint ? [this.#digest(from, d.fp)] : []
    return [...actions, ...await this.#startSessions(now)]
  }

  /** Tells peers whose last digest is a past state of ours (after our state grew) that they can pull from us. */
  #hintBehind (now: number): SyncAction[] {
    return this.#peers.newlyBehind(fp => this.#view.changes.behindUs({ fp }), now).map(peer => this.#digest(peer, this.#peers.lastDigest(peer)))
  }

  /** A free slot, and no peer reconciling with us right now (what it sends may well settle our other differences). */
  #mayStart (): boolean {
    return this.#sessions.activeInitiated() < this.#config.maxSessions && !this.#sessions.beingServed()
  }

  /**
   * Starts sessions while we may (see #mayStart): a pull from a peer that told us it is ahead, else a full
   * session with a candidate whose start time has come, drawn at random (peer-table.ts).
   */
  async #startSessions (now: number): Promise<SyncAction[]> {
    const actions: SyncAction[] = []
    while (this.#mayStart()) {
      const mine = this.#view.digest()
      const next = this.#peers.next(mine.fp, p => this.#sessions.inFlightWith(p), now)
      if (next === undefined) break
      const { peer, digest } = next
      // Salted lists cost bytes a peer's digests alone set off: within its allowance, and charged to it.
      const resume = this.limits.budgets.allowance(peer, now) > 0 ? this.#doubts.salted(peer) : undefined
      const salted = resume === undefined ? undefined : saltedPlan(this.#view.index, this.#config.maxMessageBytes, resume)
      const plan = salted?.plan ?? openingPlan(this.#view, this.#stats, next.pull ? 'pull' : this.#peers.behind(peer) ? 'behind' : 'full', digest)
      if (plan.empty) continue
      const session = this.#sessions.openMine(peer, this.#counter++, now)
      session.startDigest = mine
      session.theirDigest = digest
      session.saltedTo = salted?.next
      session.pull = next.pull
      this.#stats.sessionsStarted++
      const from = actions.length
      await this.#output.emit(session, plan, actions, now)
      session.tallySent(actions.slice(from))
      if (salted !== undefined) this.limits.chargeSent(peer, actions.slice(from), now)
    }
    return actions
  }

  #dropSessions (peer: PeerId): void {
    const mine = this.#sessions.mine.get(peer)
    mine?.journalEnd(this.journal, false, this.#merger.now ?? 0)
    if (mine?.active === true) this.#stats.sessionsDropped++
    this.#sessions.mine.delete(peer)
    this.#sessions.closeTheirs(peer)
  }

  // ---- sessions ------------------------------------------------------------------------------------

  /**
   * The session a request belongs to; a peer's new session is opened here, within the peer's session
   * limit ('sessions': refused), and the tie-break applied (undefined: ignored).
   */
  #sessionOf (from: PeerId, msg: Request, now: number): Session | 'sessions' | undefined {
    const known = this.#sessions.find(from, msg.sid)
    if (known !== undefined || this.#sessions.ignores(from, msg.sid, this.#self)) return known
    if (!this.limits.budgets.openSession(from, now)) return 'sessions'
    if (this.#sessions.yieldTo(from)) this.#stats.sessionsDropped++
    const session = this.#sessions.openTheirs(from, msg.sid.n, now)
    if (session !== undefined) session.startDigest = this.#view.digest()
    return session
  }

  /**
   * A request of the peer. Before anything costs: a request we answered before gets its ack again; one
   * whose answer would cost (ranges, sums: deltas are only acked) waits while the peer has spent its
   * bytes or leaves too much unacked; a new session waits for the peer's session limit. A request
   * refused is dropped unanswered and counted against the peer; its sender sends it again.
   */
  async #onRequest (from: PeerId, msg: Request, now: number, bytes: number): Promise<SyncAction[]> {
    const known = this.#sessions.find(from, msg.sid)
    if (known?.received.has(msg.seq) === true) {
      // A request we handled before: our ack may have been lost, so send it again.
      const ack = known.acks.get(msg.seq)
      if (ack === undefined) return []
      countSent(this.#stats, 'ack', ack.length)
      this.limits.budgets.charge(from, ack.length, now)
      return [{ type: 'send', to: from, bytes: ack }]
    }
    // Not ours to answer (an old or lost session, a tie-break lost by the peer): ignored, not refused.
    if (known === undefined && this.#sessions.ignores(from, msg.sid, this.#self)) return []
    let room = Infinity
    if (msg.type !== 'deltas') {
      const allowance = this.limits.budgets.allowance(from, now)
      if (allowance <= 0) return this.limits.refuse(from, 'bytes', now)
      const unacked = this.#config.peerUnackedBytes - this.#sessions.unackedWith(from)
      if (unacked <= 0) return this.limits.refuse(from, 'unacked', now)
      room = Math.min(allowance, unacked)
    }
    const session = this.#sessionOf(from, msg, now)
    if (session === 'sessions') return this.limits.refuse(from, 'sessions', now)
    if (session === undefined || !session.takeRequest(msg.seq)) return []
    if (msg.type === 'sums') this.#partial.learnSummaries(from, msg.sums)
    if (msg.type === 'salted') this.#doubts.heardSalted(from, msg.lists.at(-1)?.hi === null)
    // Counted as they arrive, before merging (which takes a while for many keys): status shows them at once.
    session.progress.bytesIn += bytes
    if (msg.type === 'deltas') session.progress.received(msg.items.map(d => d.key))
    session.lastActivity = now
    session.tally.bytesIn += bytes
    const { plan, hashes } = await answerRequest({ store: this.#store, view: this.#view, merger: this.#merger, stats: this.#stats, keeps: key => this.keeps(key) }, from, session, msg, room, bytes)
    // Keys of the request no session can merge (a binding other than ours, a contract unknown here): left out of the doubt.
    const items = msg.type === 'deltas' ? msg.items : msg.type === 'sums' ? msg.sums : []
    this.#doubts.noteUnmergeable(from, [...plan.unmergeable, ...items.filter(i => i.contract !== null && this.#merger.unmergeable(i.key, i.contract)).map(i => i.key)])
    const actions: SyncAction[] = []
    const spawned = await this.#output.emit(session, plan, actions, now, room)
    actions.push(this.#output.ack(session, msg.seq, spawned, hashes))
    this.limits.chargeSent(from, actions, now)
    session.tallySent(actions)
    return await this.#settled(session, now, actions)
  }

  async #onAck (from: PeerId, msg: Extract<Message, { type: 'ack' }>, now: number, bytes: number): Promise<SyncAction[]> {
    const session = this.#sessions.find(from, msg.sid)
    const keys = session?.takeAck(msg.re, msg.spawned)
    if (session === undefined || keys === undefined) return []
    session.progress.bytesIn += bytes
    session.lastActivity = now
    session.tally.bytesIn += bytes
    // Where the peer still differs after merging our deltas, it holds more than we do: send our summary so it sends the rest.
    const plan = keys === null ? new Plan() : followUp(this.#view, session, keys, msg.hashes)
    const actions: SyncAction[] = []
    if (!plan.empty) {
      // A follow-up answers the peer's ack: within its allowance, like an answer.
      const room = Math.min(this.limits.budgets.allowance(from, now), this.#config.peerUnackedBytes - this.#sessions.unackedWith(from))
      if (room > 0) await this.#output.emit(session, plan, actions, now, room)
      else this.#stats.answersCut++
      this.limits.chargeSent(from, actions, now)
      session.tallySent(actions)
    }
    return await this.#settled(session, now, actions)
  }

  /** Marks a session done when nothing is outstanding, then starts the next one if a slot freed up. */
  async #settled (session: Session, now: number, actions: SyncAction[]): Promise<SyncAction[]> {
    if (session.completed || session.busy) return actions
    session.completed = true
    session.journalEnd(this.journal, true, now)
    if (session.role === 'initiator') this.#stats.sessionsCompleted++
    this.#peers.settled(session.peer) // what we knew of it predates what we just exchanged
    if (session.role === 'initiator') this.#doubts.sessionEnded(session)
    if (!this.#partial.partial && session.changedKeys >= ANNOUNCE_KEYS_PER_PEER * this.#peers.size && !session.pull && session.startDigest !== undefined) {
      actions.push(this.#digest(undefined, session.startDigest.fp))
    }
    session.changedKeys = 0
    session.startDigest = this.#view.digest()
    actions.push(...this.#hintBehind(now), ...await this.#startSessions(now))
    return actions
  }

  // ---- output ----------------------------------------------------------------------------------------

  #publish (topic: string, msg: Message): SyncAction {
    const bytes = encodeMessage(msg)
    countSent(this.#stats, msg.type, bytes.length)
    return { type: 'publish', topic, bytes }
  }

  #send (to: PeerId, msg: Message): SendAction {
    const bytes = encodeMessage(msg)
    countSent(this.#stats, msg.type, bytes.length)
    return { type: 'send', to, bytes }
  }
}
