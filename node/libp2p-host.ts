/**
 * The libp2p side of a peer: TCP, noise, yamux, identify and gossipsub,
 * optional mDNS, ping, and the direct stream protocol (sync-streams.ts). Which
 * peers to dial and redial, bootstrap and mDNS ones included, is
 * node/peer-book.ts's business; its peer store lives on the datastore given
 * here. It knows nothing of the sync engine: bytes and peer events go out
 * through `HostHandlers`, and `publish`/`send` carry bytes in.
 *
 * Peer ids are strings here (`peerId.toString()`), as the engine names peers.
 * A gossiped message is attributed to its signed author (`from`), not to the
 * neighbour that forwarded it, so a digest's sender is whom we reconcile with.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { type GossipSub, type Message, TopicValidatorResult, gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { preSharedKey } from '@libp2p/pnet'
import { type Ping, ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { type Libp2pOptions, createLibp2p } from 'libp2p'
import { MAX_GOSSIP_PUSH_BYTES } from '../core/sync/messages.ts'
import { DIGEST_TOPIC } from '../core/sync/types.ts'
import { connectionGater } from './allow-list.ts'
import { BASE_TOPICS, type PushCheck, SYNC_TOPICS, checkGossip, gossipOptions } from './gossip-config.ts'
import { type PeerLimitOptions, connectionManagerFor, resolvePeerLimits, streamLimitsFor, tcpFor } from './peer-limit-options.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { type StreamStats, SyncStreams } from './sync-streams.ts'
import { GossipGate, type GossipGateStats } from './gossip-gate.ts'
import { RefusalBans } from './refusal-bans.ts'

export interface HostOptions {
  privateKey: PrivateKey
  /** Multiaddrs to listen on. */
  listen: readonly string[]
  /** Where libp2p keeps its peer store (node/peer-book.ts); default: in memory. */
  datastore?: Libp2pOptions['datastore']
  /** Peers we must not dial (forgotten ones, node/peer-book.ts); they may still dial us. */
  denyDial?: (peer: string) => boolean
  /** Find peers on the local network by multicast DNS (and connect to them). */
  mdns?: boolean
  /** Checks a gossiped push's items before it is delivered or forwarded (see checkGossip); default: none. */
  checkPush?: PushCheck
  /** Topics beside the sync ones (each in GOSSIP_TOPICS), with their own check and handler: inspection's. */
  topics?: Record<string, TopicHandler>
  /** A private swarm's pre-shared key, as node/swarm-key.ts reads it: only peers with the same key can connect. */
  swarmKey?: Uint8Array
  /** Peer ids to connect with, only (node/allow-list.ts); default: any peer. */
  allowPeers?: ReadonlySet<string>
  /** Connection and stream limits (node/peer-limit-options.ts); default: the defaults there. */
  limits?: PeerLimitOptions
}

/** A topic of its own: `check` runs before a message is delivered or forwarded; accepted messages go to `message`. */
export interface TopicHandler {
  check (bytes: Uint8Array): TopicValidatorResult
  message (from: string, bytes: Uint8Array): void
}

export interface HostHandlers {
  /** Bytes from a peer, by gossip or by stream. Stream frames wait for the returned promise (back-pressure); false: no message (the stream is reset). */
  message (from: string, bytes: Uint8Array): Promise<boolean | undefined | void>
  /** A peer connected, or subscribed to our topics. */
  peerJoined (peer: string): void
  peerLeft (peer: string): void
  /**
   * A gossiped push from `from` (its author) refused before delivery: `invalid`, an item of `key` its contract
   * refuses (`unauthorized_write`: a change to an owned key no current writer signed); `oversize`, over MAX_GOSSIP_PUSH_BYTES, unread (key '').
   */
  refused? (from: string, key: string, reason: 'invalid' | 'unauthorized_write' | 'oversize', message: string): void
}

export interface HostStats extends StreamStats, GossipGateStats {
  /** Peers banned for floods of refused session requests or rejected gossip (node/refusal-bans.ts). */
  refusalBans: number
  /** Gossiped messages rejected (they did not decode as their topic's message type, or failed checkPush) or ignored. */
  gossipRejected: number
  /** Of those, pushes rejected because a contract refused an item: never delivered nor forwarded. */
  invalidPushes: number
  /** Of those, pushes over MAX_GOSSIP_PUSH_BYTES, ignored unread (sessions bring their data). */
  largePushes: number
  /** Gossiped pushes with an item of a contract this peer lacks: not forwarded, merged here as far as we can (no penalty). */
  unjudgedPushes: number
  /** Publishes that failed (no peer took them, or gossipsub refused). */
  publishFailures: number
}

export interface PeerInfo {
  peerId: string
  /** Remote addresses of our open connections to it. */
  multiaddrs: string[]
  /** It subscribes to the sync topics: our pushes and digests reach it by gossip. */
  subscribed: boolean
}

/**
 * Stored addresses are kept this long without being seen again (libp2p's default, an hour, would forget
 * where a peer that was down for longer was): a restarted daemon redials the peers it knew (peer-book.ts).
 */
const MAX_ADDRESS_AGE_MS = 30 * 24 * 3_600_000
/** mDNS service name: only monoidb peers answer, so each one found is worth a connection. */
const MDNS_SERVICE = '_monoidb._udp.local'

export type HostLibp2p = Libp2p<{ pubsub: GossipSub, ping: Ping }>
type Node = HostLibp2p

export class Host {
  readonly peerId: string
  readonly #libp2p: Node
  readonly #streams: SyncStreams
  readonly #handlers: HostHandlers
  /** Peers that have told us they subscribed to our topics since they connected. */
  readonly #subscribed = new Set<string>()
  /** Publishes under way: stop() lets them finish. */
  readonly #publishing = new Set<Promise<void>>()
  readonly #checkPush: PushCheck | undefined
  readonly #topics: Record<string, TopicHandler>
  readonly #gate: GossipGate
  readonly #refusals: RefusalBans
  #gossipRejected = 0
  #invalidPushes = 0
  #largePushes = 0
  #unjudgedPushes = 0
  #publishFailures = 0
  #stopped = false

  private constructor (libp2p: Node, handlers: HostHandlers, checkPush: PushCheck | undefined, topics: Record<string, TopicHandler> = {}, limits = resolvePeerLimits()) {
    this.#libp2p = libp2p
    this.#topics = topics
    this.#checkPush = checkPush
    this.peerId = libp2p.peerId.toString()
    this.#handlers = handlers
    // A banned deliverer counts as graylisted: what it sent before we hung up is ignored unread.
    this.#gate = new GossipGate(peer => this.#streams.banned(peer) ? -Infinity : this.gossipScore(peer))
    this.#refusals = new RefusalBans(peer => { this.#streams.ban(peer) })
    // A banned peer is hung up on; the connection gater refuses it until the ban ends.
    this.#streams = new SyncStreams(libp2p, handlers.message, peer => { this.misbehaved(peer) }, streamLimitsFor(limits, peer => { void libp2p.hangUp(peerIdFromString(peer)).catch(() => {}) }))
  }

  /** Builds the libp2p node without starting it: call `start()` once the handlers are ready. */
  static async create (options: HostOptions, handlers: HostHandlers): Promise<Host> {
    const limits = resolvePeerLimits(options.limits)
    // Bans live in the sync streams, made with the host; until then nobody is banned.
    let banned = (_peer: string): boolean => false
    const libp2p = await createLibp2p({
      start: false,
      privateKey: options.privateKey,
      datastore: options.datastore,
      peerStore: { maxAddressAge: MAX_ADDRESS_AGE_MS, maxPeerAge: MAX_ADDRESS_AGE_MS },
      connectionGater: connectionGater(options.allowPeers, peer => (options.denyDial?.(peer) ?? false) || banned(peer), peer => banned(peer)),
      ...(options.swarmKey === undefined ? {} : { connectionProtector: preSharedKey({ psk: options.swarmKey }) }),
      addresses: { listen: [...options.listen] },
      transports: [tcp(tcpFor(limits))],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // Explicit, so that a stranger's half-open sockets cannot keep peers out (node/peer-limits.ts).
      connectionManager: connectionManagerFor(limits),
      peerDiscovery: options.mdns === true ? [mdns({ serviceTag: MDNS_SERVICE })] : [],
      // The ping service answers pings. libp2p's connection monitor (on by default) is the only pinger: every
      // 10 s per connection, aborting one whose ping fails. Nothing else may ping (node/peer-health.ts says why).
      services: { identify: identify(), pubsub: gossipsub(gossipOptions()), ping: ping() }
    })
    const host = new Host(libp2p, handlers, options.checkPush, options.topics, limits)
    banned = peer => host.banned(peer)
    return host
  }

  async start (): Promise<void> {
    const { pubsub } = this.#libp2p.services
    for (const topic of SYNC_TOPICS) pubsub.topicValidators.set(topic, (peer, msg) => this.#validate(peer.toString(), msg))
    for (const [topic, h] of Object.entries(this.#topics)) pubsub.topicValidators.set(topic, (_peer, msg) => this.#validateOwn(h, msg))
    this.#libp2p.addEventListener('peer:connect', evt => { this.#joined(evt.detail.toString()) })
    this.#libp2p.addEventListener('peer:disconnect', evt => { this.#left(evt.detail.toString()) })
    pubsub.addEventListener('subscription-change', evt => {
      const peer = evt.detail.peerId.toString()
      const ours = evt.detail.subscriptions.some(s => s.subscribe && (SYNC_TOPICS as readonly string[]).includes(s.topic))
      if (ours && !this.#subscribed.has(peer)) {
        this.#subscribed.add(peer)
        this.#safely(() => { this.#handlers.peerJoined(peer) })
      }
    })
    await this.#streams.start()
    await this.#libp2p.start()
    for (const topic of SYNC_TOPICS) pubsub.subscribe(topic)
    for (const topic of Object.keys(this.#topics)) pubsub.subscribe(topic)
  }

  /** The libp2p node, for the peer book and peer health (node/peer-book.ts, node/peer-health.ts). */
  get libp2p (): HostLibp2p {
    return this.#libp2p
  }

  multiaddrs (): string[] {
    return this.#libp2p.getMultiaddrs().map(String)
  }

  /** Connected peers. */
  peers (): PeerInfo[] {
    const byPeer = new Map<string, string[]>()
    for (const c of this.#libp2p.getConnections()) {
      if (c.status !== 'open') continue
      const id = c.remotePeer.toString()
      byPeer.set(id, [...byPeer.get(id) ?? [], c.remoteAddr.toString()])
    }
    const pubsub = this.#libp2p.services.pubsub
    const subscribed = new Set(BASE_TOPICS.map(t => pubsub.getSubscribers(t).map(String)).reduce((a, b) => a.filter(p => b.includes(p))))
    return [...byPeer].map(([peerId, multiaddrs]) => ({ peerId, multiaddrs, subscribed: subscribed.has(peerId) }))
  }

  /** Publishes on a gossip topic, best effort: failures are counted, never thrown. */
  publish (topic: string, bytes: Uint8Array): void {
    if (this.#stopped) return
    const done: Promise<void> = this.#libp2p.services.pubsub.publish(topic, bytes).then(
      () => {},
      () => { this.#publishFailures++ }
    ).finally(() => { this.#publishing.delete(done) })
    this.#publishing.add(done)
  }

  /** Whether some peer subscribed to `heard` is not subscribed to `topic` (a peer before `topic` existed). */
  lacksTopic (topic: string, heard: string): boolean {
    const pubsub = this.#libp2p.services.pubsub
    const has = new Set(pubsub.getSubscribers(topic).map(String))
    return pubsub.getSubscribers(heard).some(p => !has.has(String(p)))
  }

  /** Sends to one peer over the direct stream, best effort. */
  send (peer: string, bytes: Uint8Array): void {
    this.#streams.send(peer, bytes)
  }

  /** Whether the peer is banned now for bad frames (node/sync-streams.ts): its connections are refused. */
  banned (peer: string): boolean {
    return this.#streams.banned(peer)
  }

  /** Peers banned now, with when each ban ends. */
  bans (): Array<{ peer: string, until: number }> {
    return this.#streams.bans()
  }

  /** A peer's gossipsub score (negative after we rejected its messages). */
  gossipScore (peer: string): number {
    // getScore is on the implementation, not on the GossipSub interface.
    const pubsub = this.#libp2p.services.pubsub as unknown as { getScore(id: string): number }
    return pubsub.getScore(peer)
  }

  /**
   * A peer misbehaved (a request refused for its limits, bytes that are no message, a bad frame): its
   * gossipsub score falls by a behaviour penalty (P7: −10 × penalties², decaying), so it loses our
   * gossip and, repeated, is graylisted.
   */
  misbehaved (peer: string, what?: string): void {
    // A flood of refused requests gets the peer banned as bad frames do (node/refusal-bans.ts).
    if (what !== undefined) this.#refusals.refused(peer, what)
    // `score` is on the implementation, not on the GossipSub interface; the label only names the metric.
    const pubsub = this.#libp2p.services.pubsub as unknown as { score?: { addPenalty(id: string, penalty: number, label: string): void } }
    pubsub.score?.addPenalty(peer, 1, 'broken_promise')
  }

  stats (): HostStats {
    return { ...this.#streams.stats(), ...this.#gate.stats, refusalBans: this.#refusals.bans, gossipRejected: this.#gossipRejected, invalidPushes: this.#invalidPushes, largePushes: this.#largePushes, unjudgedPushes: this.#unjudgedPushes, publishFailures: this.#publishFailures }
  }

  /** Waits briefly for queued sends, then stops libp2p. */
  async stop (): Promise<void> {
    if (this.#stopped) return
    await Promise.all(this.#publishing)
    await this.#streams.stop()
    this.#stopped = true
    await this.#libp2p.stop()
  }

  /** Runs in gossipsub before a message is delivered or forwarded; hands it to the engine either way. */
  #validate (from: string, msg: Message): TopicValidatorResult {
    // Unsigned messages never get here (gossipsub's default StrictSign policy refuses them first).
    if (msg.type !== 'signed') return TopicValidatorResult.Reject
    // Before any work of ours: a graylisted deliverer, or an author over its rate (node/gossip-gate.ts).
    const gate = this.#gate.check(msg.topic, from, msg.from.toString())
    // Digests past their rate are a flood (an honest peer sends one a period); wants past theirs may be an app reading much at once.
    if (gate === 'over_rate' && msg.topic === DIGEST_TOPIC) this.misbehaved(msg.from.toString())
    if (gate !== 'pass') { this.#gossipRejected++; return TopicValidatorResult.Ignore }
    const { result, garbage, why, refused } = checkGossip(msg.topic, msg.data, this.#checkPush)
    if (refused !== undefined) this.#safely(() => { this.#handlers.refused?.(msg.from.toString(), refused.key, refused.reason ?? 'invalid', refused.message) })
    if (why === 'large') this.#safely(() => { this.#handlers.refused?.(msg.from.toString(), '', 'oversize', `a gossiped push of ${msg.data.length} bytes, over the ${MAX_GOSSIP_PUSH_BYTES}-byte limit: ignored unread (its data comes by anti-entropy)`) })
    if (result !== TopicValidatorResult.Accept) this.#gossipRejected++
    // Its deliverer is charged (it should have validated before forwarding): a flood of them gets it banned.
    if (result === TopicValidatorResult.Reject) this.#refusals.refused(from, 'rejected')
    if (why === 'invalid') this.#invalidPushes++
    if (why === 'large') this.#largePushes++
    if (why === 'unjudged') this.#unjudgedPushes++
    // Garbage still goes to the engine, which counts it (badMessages); a well-formed message of the
    // wrong type for its topic does not: the engine would act on it. A digest answers to a session
    // over a direct stream, so only a neighbour's digest reaches the engine (we could not dial its
    // author otherwise); farther peers are reconciled with through our neighbours. Pushes carry
    // data, so every push does, once checkPush found every item valid: an invalid one reaches neither
    // the engine (validating it again would cost the same) nor any peer. A push with items we cannot
    // judge (a contract we lack) is ignored, so not forwarded, but reaches our engine, which merges
    // the items it can and counts the rest as of an unknown contract.
    const usable = (result === TopicValidatorResult.Accept && (msg.topic !== DIGEST_TOPIC || this.#libp2p.getConnections(msg.from).length > 0)) || why === 'unjudged'
    if (usable || garbage) this.#handlers.message(msg.from.toString(), msg.data).catch(() => {})
    return result
  }

  /** A message of a topic of its own (HostOptions.topics): checked, then handed on if accepted. */
  #validateOwn (h: TopicHandler, msg: Message): TopicValidatorResult {
    if (msg.type !== 'signed') return TopicValidatorResult.Reject
    const result = h.check(msg.data)
    if (result !== TopicValidatorResult.Accept) this.#gossipRejected++
    else this.#safely(() => { h.message(msg.from.toString(), msg.data) })
    return result
  }

  #joined (peer: string): void {
    this.#subscribed.delete(peer)
    this.#safely(() => { this.#handlers.peerJoined(peer) })
  }

  #left (peer: string): void {
    this.#subscribed.delete(peer)
    this.#streams.closePeer(peer)
    this.#safely(() => { this.#handlers.peerLeft(peer) })
  }

  #safely (fn: () => void): void {
    try { fn() } catch { /* a handler's failure must not break libp2p's event dispatch */ }
  }
}
