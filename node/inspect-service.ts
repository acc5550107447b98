/**
 * `monoidb inspect` and `monoidb trace` on a running node: asks every peer
 * that can be reached (through gossip, so a peer two hops away answers too)
 * about one key, waits up to a timeout, and compares each answer with our copy
 * (core/sync/inspection.ts). It also answers other peers' questions, each at
 * most once, within the asker's question rate and byte budget (PROTOCOL.md §13).
 */
import { randomBytes } from 'node:crypto'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { type Plain, encode } from '../core/codec.ts'
import type { BoundRef } from '../core/subscription.ts'
import { GenerationalCache } from '../core/sync/generational-cache.ts'
import { type InspectMessage, type Inspected, type WriteStatus, decodeInspectMessage, encodeInspectMessage } from '../core/sync/inspect-messages.ts'
import { type InspectSource, type LocalKey, type PeerState, answerQuery, arrivalOf, compare, holdsWrite, makeQuery, readLocal, writeStatus } from '../core/sync/inspection.ts'
import { ProtocolError } from '../core/sync/wire.ts'
import { parseWriteId } from '../core/write-id.ts'
import { type JournalIndex, type PeerReport, buildPeerReport, indexJournal, iso, knownPeers, lastHeardOf, recentWrites } from './inspect-report.ts'

export const DEFAULT_INSPECT_TIMEOUT_MS = 2_000
export const MAX_INSPECT_TIMEOUT_MS = 30_000
/** Inspections of ours waiting for answers at once; more are refused (busy). */
export const MAX_PENDING = 16
/** Answers kept per inspection (one per peer). */
const MAX_ANSWERS = 1024
/** Questions we remember answering (asker and query id), so each is answered once. */
const ANSWERED_KEPT = 8192
/** Answers being computed at once; questions beyond are dropped (their asker sees no_answer). */
const MAX_ANSWERING = 32
/** Peers whose last answer time we keep. */
const HEARD_KEPT = 1024

export interface InspectServiceOptions {
  self: string
  source: InspectSource
  publish: (bytes: Uint8Array) => void
  /** Charges an answer to its asker's byte budget (SyncEngine.limits.chargeAnswer); false: refused. */
  charge: (peer: string, bytes: number) => boolean
  /** Takes one of the asker's questions (SyncEngine.limits.admitQuestion); false: refused, it asks too often. Default: all admitted. */
  admit?: (peer: string) => boolean
  /** Peers connected now. */
  connected: () => string[]
}

export class InspectBusyError extends Error {}

export interface InspectReport {
  key: string
  local: {
    peerId: string
    replica: string
    binding: BoundRef | null
    lacksContract?: string
    summaryDigest: string | null
    stateBytes: number | null
    recentWrites: Array<{ id: string, origin: string, at: string | null, path: string | null }>
  }
  peers: PeerReport[]
}

export interface TraceReport {
  key: string
  write: string
  /** `ok`: holders could be judged; `too_old`: the write fell out of the writer's delta log; `unknown_write`: the writer has no such write; `writer_unreachable`: the writer did not answer. */
  status: 'ok' | 'too_old' | 'unknown_write' | 'writer_unreachable'
  writer: { replica: string, peerId: string | null }
  /**
   * `arrival`: when and how the write reached each holder, from its journal: `exact` when a record names the write (a
   * push with ids, a local write), else the first merge that changed the key after the write was made (a repair, whose
   * deltas carry no ids; only known when the writer's journal says when it was written).
   */
  peers: Array<{ peerId: string, self?: true, state: PeerState | 'no_answer', holds: boolean | null, arrival: Arrival | null, lastHeard?: string | null }>
}

interface Pending { answers: Map<string, Inspected> }
type Arrival = { at: string, path: string, from: string, exact: boolean }
const arrivalJson = (a: { at: number, path: string, from: string, exact: boolean }): Arrival => ({ at: iso(a.at), path: a.path, from: a.from, exact: a.exact })

export class InspectService {
  readonly #o: InspectServiceOptions
  readonly #pending = new Map<string, Pending>()
  readonly #answered = new GenerationalCache<string, true>(ANSWERED_KEPT)
  /** When each peer last answered one of our inspections (the newest HEARD_KEPT peers). */
  readonly #heard = new Map<string, number>()
  #answering = 0
  #stopped = false
  /** Ends the wait of each inspection waiting for answers (stop calls them). */
  readonly #waits = new Set<() => void>()
  readonly stats = { asked: 0, answered: 0, refused: 0, dropped: 0 }

  constructor (options: InspectServiceOptions) {
    this.#o = options
  }

  /** Gossip's check before a message is delivered or forwarded: it must decode (another version is ignored, not punished). */
  check (bytes: Uint8Array): TopicValidatorResult {
    try {
      decodeInspectMessage(bytes)
      return TopicValidatorResult.Accept
    } catch (err) {
      return err instanceof ProtocolError && err.code === 'bad_version' ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
    }
  }

  /** A message that passed `check`, from its signed author. */
  message (from: string, bytes: Uint8Array): void {
    if (this.#stopped || from === this.#o.self) return
    let m: InspectMessage
    try { m = decodeInspectMessage(bytes) } catch { return }
    if (m.type === 'inspected') {
      if (m.to !== this.#o.self) return // someone else's answer, relayed by gossip
      const p = this.#pending.get(Buffer.from(m.qid).toString('hex'))
      if (p !== undefined && !p.answers.has(from)) this.#remember(from)
      if (p !== undefined && p.answers.size < MAX_ANSWERS) p.answers.set(from, m)
      return
    }
    const id = `${from} ${Buffer.from(m.qid).toString('hex')}`
    if (this.#answered.has(id)) return
    this.#answered.set(id, true)
    if (this.#answering >= MAX_ANSWERING) { this.stats.dropped++; return }
    // A question costs its asker one of a few per anti-entropy period (a fresh qid is free, so the cache above
    // bounds nothing), and bytes like a session request: the question before anything is computed (an asker
    // that spent its budget gets nothing), the deltas computed and the answer once they are known.
    if (this.#o.admit?.(from) === false) { this.stats.refused++; return }
    if (!this.#o.charge(from, bytes.length)) { this.stats.refused++; return }
    this.#answering++
    void (async () => {
      try {
        const cost = { bytes: 0 }
        const answer = encodeInspectMessage(await answerQuery(this.#o.source, m, from, cost))
        if (!this.#o.charge(from, cost.bytes + answer.length)) { this.stats.refused++; return }
        this.stats.answered++
        if (!this.#stopped) this.#o.publish(answer)
      } catch {
        this.stats.dropped++ // a store read failed: no answer, the asker sees no_answer
      } finally {
        this.#answering--
      }
    })()
  }

  /** Publishes a question about `key` (and `write`), and collects answers for `timeoutMs`. */
  async #ask (key: string, timeoutMs: number, write?: string): Promise<Map<string, Inspected>> {
    if (this.#stopped) throw new Error(`monoidb node ${this.#o.self} is stopped`) // the API's 503 unavailable
    if (this.#pending.size >= MAX_PENDING) throw new InspectBusyError(`${MAX_PENDING} inspections are already waiting for answers; retry when one ends`)
    const qid = randomBytes(8)
    const p: Pending = { answers: new Map() }
    const hex = qid.toString('hex')
    this.#pending.set(hex, p)
    this.stats.asked++
    try {
      const question = encodeInspectMessage(await makeQuery(this.#o.source, key, new Uint8Array(qid), write))
      if (this.#stopped) throw new Error(`monoidb node ${this.#o.self} is stopped`) // stopped while the question was read: no wait
      this.#o.publish(question)
      await new Promise<void>(resolve => {
        const done = (): void => { clearTimeout(timer); this.#waits.delete(done); resolve() }
        const timer = setTimeout(done, timeoutMs)
        this.#waits.add(done)
      })
      // Stopped while waiting: the store is closing, and the caller gets the API's 503, not a read of a closed store.
      if (this.#stopped) throw new Error(`monoidb node ${this.#o.self} is stopped`)
      return p.answers
    } finally {
      this.#pending.delete(hex)
    }
  }

  async inspect (key: string, timeoutMs = DEFAULT_INSPECT_TIMEOUT_MS): Promise<InspectReport> {
    const answers = await this.#ask(key, timeoutMs)
    const src = this.#o.source
    const local = await readLocal(src, key)
    const index = indexJournal(src.journal, key)
    const peers: PeerReport[] = []
    for (const [peer, a] of answers) peers.push(buildPeerReport(this.#o.self, index.peers.get(peer), peer, a, await compare(src, local, a.state), this.#heard.get(peer)))
    for (const peer of this.#silent(index, answers)) peers.push(buildPeerReport(this.#o.self, index.peers.get(peer), peer, undefined, undefined, this.#heard.get(peer)))
    return { key, local: await this.#local(local), peers: peers.sort((a, b) => a.peerId < b.peerId ? -1 : 1) }
  }

  async #local (local: LocalKey): Promise<InspectReport['local']> {
    const src = this.#o.source
    const lacking = src.lacking(local.key, local.held !== undefined)
    const all = local.contract === undefined ? undefined : await src.deltaFor(local.key)
    return {
      peerId: this.#o.self,
      replica: src.replica,
      binding: local.held?.contract ?? null,
      ...(lacking === undefined ? {} : { lacksContract: lacking }),
      summaryDigest: local.held === undefined ? null : Buffer.from(local.held.digest).toString('hex'),
      stateBytes: local.held === undefined ? null : all === undefined ? (local.contract === undefined ? null : 0) : encode(all.delta).length,
      recentWrites: recentWrites(src.journal, local.key, local.log.map(l => l.id))
    }
  }

  /** Known peers that did not answer: connected ones, and the newest that answered before or had sessions with us. */
  #silent (index: JournalIndex, answers: Map<string, Inspected>): string[] {
    return knownPeers(index, this.#o.connected(), [...this.#heard.keys()]).filter(p => p !== this.#o.self && !answers.has(p))
  }

  async trace (key: string, write: string, timeoutMs = DEFAULT_INSPECT_TIMEOUT_MS): Promise<TraceReport> {
    const w = parseWriteId(write)
    if (w === undefined) throw new RangeError(`write id ${JSON.stringify(write.slice(0, 80))} is not REPLICA/SEQ`)
    const answers = await this.#ask(key, timeoutMs, write)
    const src = this.#o.source
    const local = await readLocal(src, key)
    // The write's delta, from the writer's delta log: ours, or the writer's answer.
    let writer: string | null = null
    let status: WriteStatus | undefined
    status = await writeStatus(src, key, write)
    if (status !== undefined) {
      writer = this.#o.self
    } else {
      for (const [peer, a] of answers) if (a.written !== undefined) { writer = peer; status = a.written } // only its writer reports a write's log entry
    }
    const delta = status?.status === 'logged' ? status.delta : undefined
    const traceStatus: TraceReport['status'] = status === undefined ? 'writer_unreachable' : status.status === 'too_old' ? 'too_old' : status.status === 'unknown' ? 'unknown_write' : 'ok'
    const holds = (summary: Plain | undefined, arrived: boolean): boolean | null => {
      if (arrived) return true // its journal names the write
      if (delta === undefined || local.contract === undefined || summary === undefined) return null
      return holdsWrite(local.contract, delta, summary) ?? null
    }
    // When it was written: the writer's journal (ours, or its answer's), so our own arrival can be inferred too.
    let since: number | undefined
    for (const a of answers.values()) if (a.written !== undefined && a.arrival?.exact === true && a.arrival.path === 'local') since = a.arrival.at
    const ownArrival = arrivalOf(src.journal, key, write, since)
    const peers: TraceReport['peers'] = [{
      peerId: this.#o.self,
      self: true,
      state: 'equal',
      holds: local.held === undefined ? false : holds(local.held.summary, ownArrival?.exact === true),
      arrival: ownArrival === undefined ? null : arrivalJson({ ...ownArrival, from: ownArrival.peer })
    }]
    for (const [peer, a] of answers) {
      const s = a.state
      const c = await compare(src, local, s)
      const arrival = a.arrival === undefined ? null : arrivalJson(a.arrival)
      const h = s.kind !== 'kept' || s.contract === undefined ? false : holds(s.summary, arrival?.exact === true)
      peers.push({ peerId: peer, state: c.state, holds: h, arrival: h === false ? null : arrival })
    }
    const index = indexJournal(src.journal, key)
    for (const peer of this.#silent(index, answers)) peers.push({ peerId: peer, state: 'no_answer', holds: null, arrival: null, lastHeard: lastHeardOf(index.peers.get(peer), this.#heard.get(peer)) })
    const [self, ...others] = peers
    return { key, write, status: traceStatus, writer: { replica: w.replica, peerId: writer }, peers: [self, ...others.sort((a, b) => a.peerId < b.peerId ? -1 : 1)] }
  }

  #remember (peer: string): void {
    this.#heard.delete(peer)
    if (this.#heard.size >= HEARD_KEPT) this.#heard.delete(this.#heard.keys().next().value as string)
    this.#heard.set(peer, Date.now())
  }

  /** Stops answering, and ends every inspection waiting for answers now (each rejects as the node stopped). */
  stop (): void {
    this.#stopped = true
    for (const done of [...this.#waits]) done()
  }
}

