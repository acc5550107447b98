/**
 * Partial replication, the engine's part (PROTOCOL.md §12). A peer with an
 * `Interest` keeps the keys it holds or wants and drops the rest; it asks for
 * keys it wants with a `want`, flags its digest as partial, and reconciles by
 * summaries with the neighbour that says it differs on its keys
 * (partial-peers.ts). A replicate-all peer answers wants, and tells each
 * partial neighbour when it differs on that neighbour's keys (peer-scopes.ts).
 */
import type { LocalView } from './local-view.ts'
import { itemHash, sameHash } from './key-index.ts'
import { MAX_RANGE_ITEMS, type Message, type Summary, chunk, encodeMessage, entrySize } from './messages.ts'
import type { DeltaMerger } from './merger.ts'
import { PartialPeers, WantAnswers } from './partial-peers.ts'
import { PeerScopes } from './peer-scopes.ts'
import { Plan } from './reconcile.ts'
import type { SessionOutput } from './session-output.ts'
import type { SessionTable } from './session.ts'
import type { SyncStats } from './stats.ts'
import { type Interest, PUSH_TOPIC, type PeerId, type SyncAction, type SyncConfig, WANT_TOPIC } from './types.ts'

export interface PartialContext {
  /** Undefined for a replicate-all peer. */
  interest: Interest | undefined
  view: LocalView
  merger: DeltaMerger
  stats: SyncStats
  sessions: SessionTable
  output: SessionOutput
  config: SyncConfig
  publish: (topic: string, msg: Message) => SyncAction
  send: (to: PeerId, msg: Message) => SyncAction
  /** The number of the next session we start. */
  nextSession: () => number
}

export class PartialSync {
  readonly #c: PartialContext
  readonly #peers = new PartialPeers()
  readonly #answers: WantAnswers
  /** For a replicate-all peer: its partial neighbours' keys. */
  readonly #scopes = new PeerScopes()

  constructor (c: PartialContext) {
    this.#c = c
    this.#answers = new WantAnswers(c.config.wantKeysPerSec)
    if (c.interest === undefined) c.view.onIndexed = (key, hash) => { this.#scopes.committed(key, hash) }
  }

  /** Whether this peer keeps only some keys. */
  get partial (): boolean {
    return this.#c.interest !== undefined
  }

  /** Whether this peer keeps the key: always for a replicate-all peer; else if it holds or wants it. */
  keeps (key: string): boolean {
    const interest = this.#c.interest
    return interest === undefined || this.#c.view.index.get(key) !== undefined || interest.wants(key)
  }

  /** Wants for the keys we do not hold, split to fit messages: a holder pushes them. */
  want (keys: readonly string[]): SyncAction[] {
    const lacking = [...new Set(keys)].filter(k => this.#c.view.index.get(k) === undefined).sort()
    const empty = encodeMessage({ type: 'want', keys: [] }).length
    const { parts } = chunk(lacking, entrySize.lacking, empty, this.#c.config.maxMessageBytes, MAX_RANGE_ITEMS)
    const { merger } = this.#c
    merger.wanted(lacking)
    for (const key of lacking) merger.journal?.record({ kind: 'want-sent', key, peer: '*' }, merger.now ?? 0)
    return parts.map(part => this.#c.publish(WANT_TOPIC, { type: 'want', keys: part }))
  }

  /**
   * A digest where partial replication is concerned: ours are not compared (a partial peer notes its
   * neighbour's), and a replicate-all peer answers a partial digest with a `scope` when they differ.
   * Undefined: a digest between replicate-all peers, for the engine.
   */
  onDigest (from: PeerId, d: Extract<Message, { type: 'digest' }>): SyncAction[] | undefined {
    if (this.partial) {
      this.#peers.digest(from, d.fp, d.partial !== true)
      return []
    }
    if (d.partial !== true) return undefined
    this.#scopes.partial(from)
    const ours = this.#scopes.fingerprint(from)
    return ours === undefined || sameHash(ours, d.fp) ? [] : [this.#c.send(from, { type: 'scope', fp: ours })]
  }

  /** A replicate-all neighbour's digest over our keys. */
  onScope (from: PeerId, fp: Uint8Array): void {
    this.#peers.scope(from, sameHash(fp, this.#c.view.digest().fp))
  }

  /** Keys a partial neighbour showed it holds (the keys of its pushes). */
  learn (from: PeerId, keys: readonly string[]): void {
    if (!this.partial) this.#scopes.learn(from, keys, key => this.#c.view.index.get(key))
  }

  /** A partial neighbour's summaries: keys it holds, and its hashes of those whose data we cannot merge. */
  learnSummaries (from: PeerId, sums: readonly Summary[]): void {
    if (this.partial || !this.#scopes.isPartial(from)) return
    this.learn(from, sums.map(s => s.key))
    for (const s of sums) if (this.#c.merger.unmergeable(s.key, s.contract)) this.#scopes.foreign(from, s.key, itemHash(s.key, s.contract, s.summary))
  }

  /**
   * Answers a want with the whole state of the wanted keys we hold (see WantAnswers for the limits):
   * sent to the asker if it is a neighbour, else published, to reach it through the peers between us.
   */
  async onWant (from: PeerId, keys: readonly string[], now: number): Promise<SyncAction[]> {
    const direct = this.#peers.isNeighbour(from)
    const held = this.#answers.take(keys.filter(k => this.#c.view.index.get(k) !== undefined), now, direct ? from : '')
    if (held.length === 0) return []
    this.#c.stats.wantsAnswered += held.length
    const pushes = await this.#c.merger.pushes(new Map(held.map(k => [k, null])), this.#c.config.maxMessageBytes, direct)
    const actions = pushes.map(m => direct ? this.#c.send(from, m) : this.#c.publish(PUSH_TOPIC, m))
    const bytes = actions.reduce((n, a) => n + a.bytes.length, 0)
    for (const key of held) this.#c.merger.journal?.record({ kind: 'want-answered', key, peer: from, bytes: Math.round(bytes / held.length) }, now)
    return actions
  }

  /**
   * A partial peer's anti-entropy, once a period: the wants for wanted keys it still lacks (a want is
   * best effort, a holder may be hops away), and a session with the neighbour due (partial-peers.ts):
   * the summaries of all its keys, or of the lacking ones only.
   */
  async antiEntropy (now: number): Promise<SyncAction[]> {
    const { interest, view, sessions, config } = this.#c
    if (interest === undefined) return []
    const lacking = [...interest.wanted()].filter(k => view.index.get(k) === undefined).sort()
    const actions = this.want(lacking)
    if (sessions.activeInitiated() >= config.maxSessions || (lacking.length === 0 && view.index.size === 0)) return actions
    const next = this.#peers.next(view.digest().fp, p => sessions.inFlightWith(p), lacking)
    if (next === undefined) return actions
    const plan = new Plan()
    if (next.all) for (const [key] of view.index.items('')) plan.askKeys.push(key)
    for (const key of lacking) plan.ask.push({ key, contract: null, summary: null })
    const session = sessions.openMine(next.peer, this.#c.nextSession(), now)
    session.startDigest = view.digest()
    this.#c.stats.sessionsStarted++
    await this.#c.output.emit(session, plan, actions, now)
    return actions
  }

  /** Whether a partial neighbour's last digest equals ours; undefined for a replicate-all one (its digest covers keys we do not keep) or none heard. */
  inSync (peer: PeerId): boolean | undefined {
    return this.#peers.sameDigest(peer, this.#c.view.digest().fp)
  }

  joined (peer: PeerId): void {
    this.#peers.joined(peer)
  }

  left (peer: PeerId): void {
    this.#peers.left(peer)
    this.#scopes.forget(peer)
  }

  /** A session we started with the peer timed out. */
  failed (peer: PeerId): void {
    this.#peers.failed(peer)
  }
}
