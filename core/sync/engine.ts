/**
 * The sync engine: one peer's side of the protocol, sans I/O. Events go in
 * (a local update, bytes from a peer, a peer joining or leaving, a
 * subscription, a timer tick with the time), actions come out (publish on a
 * topic, send to a peer). It pushes local changes in batches, publishes a
 * digest of its whole key space every anti-entropy period, and reconciles with
 * peers whose digest differs (reconcile.ts, session.ts). What it believes about
 * a peer changes only on that peer's own messages: its digests and its acks.
 * PROTOCOL.md describes the protocol byte by byte.
 */
import type { Plain } from '../codec.ts'
import type { BoundRef } from '../subscription.ts'
import { resendMs, resolveConfig } from './config.ts'
import { type Fingerprint, sameHash } from './key-index.ts'
import { LocalView } from './local-view.ts'
import { ACK_HASH_BYTES, type Message, chunk, decodeMessage, encodeMessage, entrySize, refsSize } from './messages.ts'
import { DeltaMerger } from './merger.ts'
import { PushQueue } from './push-queue.ts'
import { Plan, answerFp, answerItems, answerSumList, answerSums } from './reconcile.ts'
import { SessionOutput, distinctKeys } from './session-output.ts'
import { type Session, SessionTable } from './session.ts'
import { type SyncStats, copyStats, countReceived, countSent, emptyStats } from './stats.ts'
import { DIGEST_TOPIC, PUSH_TOPIC, type PeerId, type SyncAction, type SyncConfig, type SyncOptions, type SyncStore } from './types.ts'

export type { SyncStats } from './stats.ts'
export { DEFAULT_SYNC_CONFIG } from './config.ts'

/** Digest periods vary by ±10% so peers do not publish in lockstep. */
const PERIOD_JITTER = 0.1
/** The ack hash of a key the acking peer does not hold. */
const NOT_HELD = new Uint8Array(ACK_HASH_BYTES)

interface Candidate extends Fingerprint { at: number }
type Request = Extract<Message, { seq: number }>

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
  /** Peers whose last digest differed from ours: whom to reconcile with next. */
  readonly #candidates = new Map<PeerId, Candidate>()
  /** Peers whose digest is a past state of ours, since when: they should come to us (see #onDigest). */
  readonly #behind = new Map<PeerId, number>()
  #nextDigestAt: number
  #counter: number

  private constructor (store: SyncStore, view: LocalView, options: SyncOptions, config: SyncConfig) {
    this.#self = options.self
    this.#config = config
    this.#random = options.random ?? Math.random
    this.#store = store
    this.#view = view
    this.#push = new PushQueue(config.pushWindowMs)
    this.#merger = new DeltaMerger(store, view.index, view.history, this.#stats)
    this.#output = new SessionOutput(store, this.#stats, config.maxMessageBytes, (to, msg) => this.#send(to, msg))
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
   * its state before the update, computed from the store when the window closes (several updates
   * make one item), so receivers can merge it onto that state (see held-pushes.ts); the op's own
   * delta is not needed. Returns nothing: the push goes out from `tick` when the window passes.
   */
  localUpdate (key: string, _contract: BoundRef, _delta: Plain, now: number): SyncAction[] {
    this.#push.add(key, this.#view.before(key), now)
    return []
  }

  /** Handles any message from `from`. Bytes that are not a valid message are counted and dropped. */
  async receive (from: PeerId, bytes: Uint8Array, now: number): Promise<SyncAction[]> {
    let msg: Message
    try {
      msg = decodeMessage(bytes)
    } catch {
      countReceived(this.#stats, undefined, bytes instanceof Uint8Array ? bytes.length : 0)
      this.#stats.badMessages++
      return []
    }
    countReceived(this.#stats, msg.type, bytes.length)
    if (from === this.#self) return []
    switch (msg.type) {
      case 'push': await this.#merger.receivePush(from, msg.items, now); return []
      case 'digest': return await this.#onDigest(from, msg, now)
      case 'ack': return await this.#onAck(from, msg, now)
      default: return await this.#onRequest(from, msg, now)
    }
  }

  /** A peer connected (or reconnected): its sessions with us are stale; send it our digest. */
  peerJoined (peer: PeerId, _now: number): SyncAction[] {
    this.#dropSessions(peer)
    return [this.#digest(peer)]
  }

  peerLeft (peer: PeerId, _now: number): SyncAction[] {
    this.#dropSessions(peer)
    this.#candidates.delete(peer)
    this.#behind.delete(peer)
    return []
  }

  /** We subscribed to a key: publish our digest now, so peers holding more of it answer. */
  subscribed (_key: string, _now: number): SyncAction[] {
    return [this.#digest()]
  }

  async tick (now: number): Promise<SyncAction[]> {
    const actions: SyncAction[] = []
    const due = this.#push.takeDue(now)
    if (due !== undefined) actions.push(...await this.#pushes(due))
    this.#merger.expire(now - 2 * this.#config.antiEntropyMs)
    if (now >= this.#nextDigestAt) {
      actions.push(this.#digest())
      this.#nextDigestAt = now + this.#config.antiEntropyMs * (1 - PERIOD_JITTER + 2 * PERIOD_JITTER * this.#random())
    }
    for (const s of this.#sessions.expire(now, this.#config.sessionTimeoutMs)) {
      if (s.role === 'initiator' && !s.completed) this.#stats.sessionsTimedOut++
    }
    for (const { peer, type, bytes } of this.#sessions.resend(now, resendMs(this.#config))) {
      this.#stats.retransmits++
      countSent(this.#stats, type, bytes.length)
      actions.push({ type: 'send', to: peer, bytes })
    }
    for (const [peer, c] of this.#candidates) if (now - c.at > 2 * this.#config.antiEntropyMs) this.#candidates.delete(peer)
    for (const [peer, at] of this.#behind) if (now - at > 4 * this.#config.antiEntropyMs) this.#behind.delete(peer)
    actions.push(...await this.#startSessions(now))
    return actions
  }

  nextWakeup (): number | undefined {
    const times = [
      this.#nextDigestAt,
      this.#push.due,
      this.#sessions.nextExpiry(this.#config.sessionTimeoutMs),
      this.#sessions.nextResend(resendMs(this.#config))
    ].filter((t): t is number => t !== undefined)
    return Math.min(...times)
  }

  stats (): SyncStats {
    return copyStats(this.#stats)
  }

  /** Stops following the store. */
  close (): void {
    this.#view.close()
  }

  // ---- digests, and whom we start sessions with ----------------------------------------------------

  #digest (to?: PeerId): SyncAction {
    const f = this.#view.digest()
    this.#stats.digestsSent++
    const msg: Message = { type: 'digest', count: f.count, fp: f.fp }
    return to === undefined ? this.#publish(DIGEST_TOPIC, msg) : this.#send(to, msg)
  }

  async #onDigest (from: PeerId, d: Fingerprint, now: number): Promise<SyncAction[]> {
    const mine = this.#view.digest()
    if (mine.count === d.count && sameHash(mine.fp, d.fp)) {
      this.#candidates.delete(from)
      this.#behind.delete(from)
      return []
    }
    // A peer at a past state of ours is behind: it starts a session with one of the peers ahead, drawn at
    // random, and gets a catch-up. So not every peer ahead goes to it at once; we go only if it does not come.
    if (this.#view.changes.behindUs(d)) {
      const since = this.#behind.get(from)
      if (since === undefined) this.#behind.set(from, now)
      if (since === undefined || now - since < 1.5 * this.#config.antiEntropyMs) {
        this.#candidates.delete(from)
        return []
      }
    } else {
      this.#behind.delete(from)
    }
    this.#candidates.set(from, { count: d.count, fp: d.fp, at: now })
    // Our session with the peer heard nothing for a whole period, and the peer's digest still differs: start afresh.
    const stale = this.#sessions.mine.get(from)
    if (stale !== undefined && stale.active && now - stale.lastActivity >= this.#config.antiEntropyMs) {
      this.#sessions.mine.delete(from)
      this.#stats.sessionsTimedOut++
    }
    return await this.#startSessions(now)
  }

  /** Starts sessions while we run fewer than maxSessions, each with a peer drawn at random among those whose digest differed. */
  async #startSessions (now: number): Promise<SyncAction[]> {
    const actions: SyncAction[] = []
    while (this.#sessions.activeInitiated() < this.#config.maxSessions) {
      const eligible = [...this.#candidates.keys()].filter(p => !this.#sessions.inFlightWith(p)).sort()
      if (eligible.length === 0) break
      const peer = eligible[Math.floor(this.#random() * eligible.length)]
      const c = this.#candidates.get(peer)!
      this.#candidates.delete(peer)
      // The peer's digest is the fingerprint of the range "everything": our first turn answers it like any
      // range, or with a catch-up if it is a past state of ours.
      let plan = this.#view.catchUpPlan(c)
      if (plan !== undefined) this.#stats.catchUps++
      else answerFp(this.#view.index, this.#view.history, { lo: '', hi: null, count: c.count, fp: c.fp }, plan = new Plan())
      if (plan.empty) continue
      this.#behind.delete(peer)
      const session = this.#sessions.openMine(peer, this.#counter++, now)
      this.#stats.sessionsStarted++
      await this.#output.emit(session, plan, actions, now)
    }
    return actions
  }

  #dropSessions (peer: PeerId): void {
    if (this.#sessions.mine.get(peer)?.active === true) this.#stats.sessionsDropped++
    this.#sessions.mine.delete(peer)
    this.#sessions.closeTheirs(peer)
  }

  // ---- sessions ------------------------------------------------------------------------------------

  /** The session a request belongs to; a peer's new session is opened here, and the tie-break applied. */
  #sessionOf (from: PeerId, msg: Request, now: number): Session | undefined {
    const known = this.#sessions.find(from, msg.sid)
    if (known !== undefined || !msg.sid.fromInitiator) return known
    // The peer started a session while ours with it is in flight: the smaller initiator id wins.
    if (this.#sessions.mine.get(from)?.active === true) {
      if (this.#self < from) return undefined
      this.#sessions.mine.delete(from)
      this.#stats.sessionsDropped++
    }
    return this.#sessions.openTheirs(from, msg.sid.n, now)
  }

  async #onRequest (from: PeerId, msg: Request, now: number): Promise<SyncAction[]> {
    const session = this.#sessionOf(from, msg, now)
    if (session === undefined) return []
    if (!session.takeRequest(msg.seq)) {
      // A request we handled before: our ack may have been lost, so send it again.
      const ack = session.acks.get(msg.seq)
      if (ack === undefined) return []
      countSent(this.#stats, 'ack', ack.length)
      return [{ type: 'send', to: from, bytes: ack }]
    }
    session.lastActivity = now
    const plan = new Plan()
    let hashes: Uint8Array[] = []
    if (msg.type === 'ranges') {
      // A range the peer holds as we held it at some point lacks exactly what changed in it since: no need to narrow it down.
      const past = this.#view.changes.matchRanges(msg.fps, this.#view.index)
      msg.fps.forEach((r, i) => {
        const changed = past[i]
        if (changed === undefined) { answerFp(this.#view.index, this.#view.history, r, plan); return }
        this.#view.addCatchUp(plan, changed)
        this.#stats.catchUps++
      })
      for (const r of msg.items) answerItems(this.#view.index, this.#view.history, r, plan)
      for (const r of msg.sums) await answerSumList(this.#store, this.#view.index, r, plan)
    } else if (msg.type === 'sums') {
      await answerSums(this.#store, this.#view.index, msg.sums, msg.reply, plan)
    } else {
      await this.#merger.merge(from, msg.items)
      // Tell the sender what we now hold: the only way it learns whether we still differ.
      hashes = distinctKeys(msg.items).map(key => this.#view.index.get(key)?.subarray(0, ACK_HASH_BYTES) ?? NOT_HELD)
    }
    const actions: SyncAction[] = []
    const spawned = await this.#output.emit(session, plan, actions, now)
    actions.push(this.#output.ack(session, msg.seq, spawned, hashes))
    return await this.#settled(session, now, actions)
  }

  async #onAck (from: PeerId, msg: Extract<Message, { type: 'ack' }>, now: number): Promise<SyncAction[]> {
    const session = this.#sessions.find(from, msg.sid)
    const keys = session?.takeAck(msg.re, msg.spawned)
    if (session === undefined || keys === undefined) return []
    session.lastActivity = now
    // Where the peer still differs after merging our deltas, it holds more than we do: send our summary so it sends the rest.
    const plan = new Plan()
    if (keys !== null && msg.hashes.length === keys.length) {
      keys.forEach((key, i) => {
        const mine = this.#view.index.get(key)
        const theirs = msg.hashes[i]
        if (mine === undefined || sameHash(theirs, NOT_HELD) || sameHash(mine.subarray(0, ACK_HASH_BYTES), theirs) || session.followedUp.has(key)) return
        session.followedUp.add(key)
        plan.tellKeys.push(key)
      })
    }
    const actions: SyncAction[] = []
    await this.#output.emit(session, plan, actions, now)
    return await this.#settled(session, now, actions)
  }

  /** Marks a session done when nothing is outstanding, then starts the next one if a slot freed up. */
  async #settled (session: Session, now: number, actions: SyncAction[]): Promise<SyncAction[]> {
    if (session.completed || session.busy) return actions
    session.completed = true
    if (session.role === 'initiator') {
      this.#stats.sessionsCompleted++
      this.#candidates.delete(session.peer) // its digest predates what we just exchanged
      actions.push(...await this.#startSessions(now))
    }
    return actions
  }

  // ---- output ----------------------------------------------------------------------------------------

  /** Our pushes: per key changed locally, what it gained since its state before the change, chunked. */
  async #pushes (dirty: ReadonlyMap<string, Uint8Array | null>): Promise<SyncAction[]> {
    const items = await this.#merger.pushItems(dirty)
    const empty = encodeMessage({ type: 'push', items: [] }).length + refsSize(items)
    const { parts, oversize } = chunk(items, entrySize.pushItem, empty, this.#config.maxMessageBytes)
    this.#stats.oversizeItems += oversize.length
    return parts.map(part => this.#publish(PUSH_TOPIC, { type: 'push', items: part }))
  }

  #publish (topic: string, msg: Message): SyncAction {
    const bytes = encodeMessage(msg)
    countSent(this.#stats, msg.type, bytes.length)
    return { type: 'publish', topic, bytes }
  }

  #send (to: PeerId, msg: Message): SyncAction {
    const bytes = encodeMessage(msg)
    countSent(this.#stats, msg.type, bytes.length)
    return { type: 'send', to, bytes }
  }
}
