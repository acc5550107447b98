/**
 * The libp2p side of a peer: TCP, noise, yamux, identify and gossipsub, the
 * bootstrap list and optional mDNS, and the direct stream protocol
 * (sync-streams.ts). It knows nothing of the sync engine: bytes and peer
 * events go out through `HostHandlers`, and `publish`/`send` carry bytes in.
 *
 * Peer ids are strings here (`peerId.toString()`), as the engine names peers.
 * A gossiped message is attributed to its signed author (`from`), not to the
 * neighbour that forwarded it, so a digest's sender is whom we reconcile with.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { type GossipSub, type Message, TopicValidatorResult, gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { KEEP_ALIVE, type Libp2p, type PeerId, type PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { MAX_GOSSIP_PUSH_BYTES } from '../core/sync/messages.ts'
import { DIGEST_TOPIC } from '../core/sync/types.ts'
import { BASE_TOPICS, type PushCheck, SYNC_TOPICS, checkGossip, gossipOptions } from './gossip-config.ts'
import { connectionManagerLimits, tcpLimits } from './peer-limits.ts'
import { type StreamStats, SyncStreams } from './sync-streams.ts'

export interface HostOptions {
  privateKey: PrivateKey
  /** Multiaddrs to listen on. */
  listen: readonly string[]
  /** Peers to connect to at start and to keep connected to: multiaddrs ending in /p2p/<peer id>. */
  bootstrap?: readonly string[]
  /** Find peers on the local network by multicast DNS (and connect to them). */
  mdns?: boolean
  /** Checks a gossiped push's items before it is delivered or forwarded (see checkGossip); default: none. */
  checkPush?: PushCheck
}

export interface HostHandlers {
  /** Bytes from a peer, by gossip or by stream. Stream frames wait for the returned promise (back-pressure); false: no message (the stream is reset). */
  message (from: string, bytes: Uint8Array): Promise<boolean | undefined | void>
  /** A peer connected, or subscribed to our topics. */
  peerJoined (peer: string): void
  peerLeft (peer: string): void
  /**
   * A gossiped push from `from` (its author) refused before delivery: `invalid`, an item of `key` its contract
   * refuses; `oversize`, over MAX_GOSSIP_PUSH_BYTES, unread (key '').
   */
  refused? (from: string, key: string, reason: 'invalid' | 'oversize', message: string): void
}

export interface HostStats extends StreamStats {
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

/** Redial bootstrap peers we are not connected to this often. */
const REDIAL_MS = 5_000
/** Bootstrap peers are tagged keep-alive, so libp2p redials them too when they drop. */
const BOOTSTRAP_TAG = `${KEEP_ALIVE}-monoidb-bootstrap`
/** mDNS service name: only monoidb peers answer, so each one found is worth a connection. */
const MDNS_SERVICE = '_monoidb._udp.local'

type Node = Libp2p<{ pubsub: GossipSub }>

export class Host {
  readonly peerId: string
  readonly #libp2p: Node
  readonly #streams: SyncStreams
  readonly #handlers: HostHandlers
  readonly #bootstrap: PeerId[]
  /** Peers that have told us they subscribed to our topics since they connected. */
  readonly #subscribed = new Set<string>()
  /** Publishes under way: stop() lets them finish. */
  readonly #publishing = new Set<Promise<void>>()
  readonly #checkPush: PushCheck | undefined
  #gossipRejected = 0
  #invalidPushes = 0
  #largePushes = 0
  #unjudgedPushes = 0
  #publishFailures = 0
  #redial: ReturnType<typeof setInterval> | undefined
  #stopped = false

  private constructor (libp2p: Node, handlers: HostHandlers, bootstrapPeers: PeerId[], checkPush: PushCheck | undefined) {
    this.#libp2p = libp2p
    this.#checkPush = checkPush
    this.peerId = libp2p.peerId.toString()
    this.#handlers = handlers
    this.#bootstrap = bootstrapPeers
    this.#streams = new SyncStreams(libp2p, handlers.message, peer => { this.misbehaved(peer) })
  }

  /** Builds the libp2p node without starting it: call `start()` once the handlers are ready. */
  static async create (options: HostOptions, handlers: HostHandlers): Promise<Host> {
    const bootstrapList = [...options.bootstrap ?? []]
    const bootstrapPeers = bootstrapList.map(bootstrapPeerId)
    const libp2p = await createLibp2p({
      start: false,
      privateKey: options.privateKey,
      addresses: { listen: [...options.listen] },
      transports: [tcp(tcpLimits)],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // Explicit, so that a stranger's half-open sockets cannot keep peers out (node/peer-limits.ts).
      connectionManager: connectionManagerLimits,
      peerDiscovery: [
        ...bootstrapList.length > 0 ? [bootstrap({ list: bootstrapList, timeout: 10, tagName: BOOTSTRAP_TAG })] : [],
        ...options.mdns === true ? [mdns({ serviceTag: MDNS_SERVICE })] : []
      ],
      services: { identify: identify(), pubsub: gossipsub(gossipOptions()) }
    })
    return new Host(libp2p, handlers, bootstrapPeers, options.checkPush)
  }

  async start (): Promise<void> {
    const { pubsub } = this.#libp2p.services
    for (const topic of SYNC_TOPICS) pubsub.topicValidators.set(topic, (_peer, msg) => this.#validate(msg))
    this.#libp2p.addEventListener('peer:connect', evt => { this.#joined(evt.detail.toString()) })
    this.#libp2p.addEventListener('peer:disconnect', evt => { this.#left(evt.detail.toString()) })
    this.#libp2p.addEventListener('peer:discovery', evt => { this.#dial(evt.detail.id) })
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
    if (this.#bootstrap.length > 0) {
      this.#redial = setInterval(() => { for (const p of this.#bootstrap) this.#dial(p) }, REDIAL_MS)
      this.#redial.unref()
    }
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
  misbehaved (peer: string, _what?: string): void {
    // `score` is on the implementation, not on the GossipSub interface; the label only names the metric.
    const pubsub = this.#libp2p.services.pubsub as unknown as { score?: { addPenalty(id: string, penalty: number, label: string): void } }
    pubsub.score?.addPenalty(peer, 1, 'broken_promise')
  }

  stats (): HostStats {
    return { ...this.#streams.stats(), gossipRejected: this.#gossipRejected, invalidPushes: this.#invalidPushes, largePushes: this.#largePushes, unjudgedPushes: this.#unjudgedPushes, publishFailures: this.#publishFailures }
  }

  /** Waits briefly for queued sends, then stops libp2p. */
  async stop (): Promise<void> {
    if (this.#stopped) return
    clearInterval(this.#redial)
    await Promise.all(this.#publishing)
    await this.#streams.stop()
    this.#stopped = true
    await this.#libp2p.stop()
  }

  /** Runs in gossipsub before a message is delivered or forwarded; hands it to the engine either way. */
  #validate (msg: Message): TopicValidatorResult {
    // Unsigned messages never get here (gossipsub's default StrictSign policy refuses them first).
    if (msg.type !== 'signed') return TopicValidatorResult.Reject
    const { result, garbage, why, refused } = checkGossip(msg.topic, msg.data, this.#checkPush)
    if (refused !== undefined) this.#safely(() => { this.#handlers.refused?.(msg.from.toString(), refused.key, 'invalid', refused.message) })
    if (why === 'large') this.#safely(() => { this.#handlers.refused?.(msg.from.toString(), '', 'oversize', `a gossiped push of ${msg.data.length} bytes, over the ${MAX_GOSSIP_PUSH_BYTES}-byte limit: ignored unread (its data comes by anti-entropy)`) })
    if (result !== TopicValidatorResult.Accept) this.#gossipRejected++
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

  #joined (peer: string): void {
    this.#subscribed.delete(peer)
    this.#safely(() => { this.#handlers.peerJoined(peer) })
  }

  #left (peer: string): void {
    this.#subscribed.delete(peer)
    this.#streams.closePeer(peer)
    this.#safely(() => { this.#handlers.peerLeft(peer) })
  }

  #dial (peer: PeerId): void {
    if (this.#stopped || peer.equals(this.#libp2p.peerId) || this.#libp2p.getConnections(peer).length > 0) return
    this.#libp2p.dial(peer, { signal: AbortSignal.timeout(REDIAL_MS) }).catch(() => {})
  }

  #safely (fn: () => void): void {
    try { fn() } catch { /* a handler's failure must not break libp2p's event dispatch */ }
  }
}

/** The peer id a bootstrap multiaddr ends with; a clear error if it has none. */
function bootstrapPeerId (addr: string): PeerId {
  let ma
  try {
    ma = multiaddr(addr)
  } catch (err) {
    throw new Error(`bootstrap address ${JSON.stringify(addr)} is not a multiaddr: ${(err as Error).message}`)
  }
  // The last /p2p/ component names the peer (earlier ones would be relays).
  const id = ma.getComponents().findLast(c => c.name === 'p2p')?.value
  if (id === undefined) throw new Error(`bootstrap address ${addr} must end with /p2p/<peer id> (the peer it should reach)`)
  try {
    return peerIdFromString(id)
  } catch (err) {
    throw new Error(`bootstrap address ${addr} has a bad peer id: ${(err as Error).message}`)
  }
}

