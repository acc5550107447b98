/**
 * A monoidb peer in one object: the replica store on LevelDB in the data
 * folder, the sync engine, and the libp2p host that carries the engine's
 * messages. Apps embed it with `createNode`; the daemon and its HTTP API sit
 * on the same object.
 *
 * Replication is partial by default: a node keeps the keys written, read
 * (`fetch`) or watched (`subscribe`) here, and drops what peers send of other
 * keys. `replicateAll: true` keeps every key it hears of: an always-on peer.
 */
import { access, mkdir, readdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { AnyContract, ContractRef } from '../core/contract.ts'
import type { JsonValue } from '../core/json.ts'
import { DURABILITIES, type Durability, LevelStorage } from '../core/level-storage.ts'
import { DamagedStoreError } from '../core/storage.ts'
import type { ContractRegistry } from '../core/registry.ts'
import { type KeyView, ReplicaStore, type StoreStats, type UpdateResult } from '../core/replica-store.ts'
import type { Subscription } from '../core/subscription.ts'
import { type ClockSkew, type PeerCost, type SessionProgress, SyncEngine, type SyncStats } from '../core/sync/engine.ts'
import { Journal } from '../core/sync/journal.ts'
import { PushValidator } from '../core/sync/push-check.ts'
import { type TopCounts, countTop, topOf } from '../core/sync/stats.ts'
import type { SyncConfig } from '../core/sync/types.ts'
import { createRegistry } from '../contracts/index.ts'
import { withOwned } from '../core/envelope/index.ts'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ChangeCounter } from './change-counter.ts'
import { loadOrCreatePeerKey } from './identity.ts'
import { type Logger, SILENT_LOGGER } from './logger.ts'
import { Host, type HostStats, type PeerInfo } from './libp2p-host.ts'
import { rememberListenPorts, reuseListenPorts } from './listen-ports.ts'
import { parsePeerId } from './peer-address.ts'
import { PeerBook } from './peer-book.ts'
import { connectionOptions } from './node-access.ts'
import { openPeerData } from './peer-data.ts'
import { PeerHealth, type PeerHealthInfo } from './peer-health.ts'
import { repairMarker } from './repair.ts'
import { type BindingStats, SyncBinding } from './sync-binding.ts'
import { WantedKeys } from './wanted-keys.ts'
import { type PeerLimitOptions, resolvePeerLimits } from './peer-limit-options.ts'
import { INSPECT_TOPIC } from '../core/sync/inspect-messages.ts'
import { InspectService } from './inspect-service.ts'
import { type SigningKey, ownedInfo, signingKeyFromPem } from '../core/envelope/index.ts'
import { ContractError } from '../core/errors.ts'
import { appView } from './owned-view.ts'

export type { PeerInfo } from './libp2p-host.ts'
export type { PeerHealthInfo } from './peer-health.ts'
export type { Durability } from '../core/level-storage.ts'

export interface NodeOptions {
  /** Data folder: the store is LevelDB in DIR/store, the peer key is DIR/peer-key, known peers DIR/peers. Created if missing. */
  dataDir: string
  /** Multiaddrs to listen on. Default: ['/ip4/127.0.0.1/tcp/0'] (this machine only; port 0: the last run's port if free, else any; node/listen-ports.ts). */
  listen?: readonly string[]
  /** Peers to connect to and stay connected to: multiaddrs ending in /p2p/<peer id>. */
  bootstrap?: readonly string[]
  /** Find and connect to peers on the local network by multicast DNS. Default false. */
  mdns?: boolean
  /** The contracts this peer knows. Default: createRegistry() (the built-ins). */
  registry?: ContractRegistry
  /** More contracts, registered (and law-checked) into the registry at start; one already in it is kept. */
  contracts?: readonly AnyContract[]
  /** Keep every key this peer hears of, not only those written, read or watched here. Default false. */
  replicateAll?: boolean
  /** Sync protocol settings (push window, anti-entropy period, …); see PROTOCOL.md §10. */
  sync?: Partial<SyncConfig>
  /** Called with errors that happen in the background (a failed merge, say); default: ignored. */
  onError?: (err: unknown) => void
  /**
   * What an acknowledged write survives. 'power' (default): a power loss or kernel panic, each commit
   * fsyncs LevelDB's log (group commit shares one fsync among the writes of a burst). 'process': only a
   * crash of this process; a power loss can lose the newest acknowledged writes.
   */
  durability?: Durability
  /** Where the node logs start, stop, peers, dial failures, repairs and refusals (pino-shaped; default: silent). */
  log?: Logger
  /** A private swarm's key: a key file's bytes (node/swarm-key.ts readSwarmKey). Only peers with the same key can connect. */
  swarmKey?: Uint8Array
  /** Peer ids to connect with, only: every other peer is refused both ways (node/allow-list.ts). Default: any. */
  allowPeers?: readonly string[]
  /**
   * The key every write made through this node is signed with (README "Owned keys"): a SigningKey
   * (generateSigningKey, signingKeyFromPem) or an Ed25519 PKCS#8 PEM string. Without one, owned keys
   * cannot be written here (unauthorized_write); other keys can.
   */
  signingKey?: SigningKey | string
  /** Connection and stream limits per peer (node/peer-limit-options.ts; README "Resource limits"). */
  limits?: PeerLimitOptions
}

export interface NodeStatus {
  peerId: string
  multiaddrs: string[]
  /** Connected peers. */
  peers: number
  /** Keys held. */
  keys: number
  /** Whether this node keeps every key it hears of (else only those written, read or watched here). */
  replicateAll: boolean
  /**
   * Deltas received for contracts this node does not have (or has in another version), not merged: the
   * 20 names (`id`, or `id::version`) with the most, and how many deltas all other names had.
   */
  unknownContracts: { byId: Record<string, number>, others: number }
  /**
   * Keys held here whose contract this node lacks (not loaded, or loaded in another version): kept as
   * they are, neither readable nor writable until the node starts with that contract; the 20 names
   * with the most keys, and how many keys all other names had.
   */
  unknownContractKeys: { byId: Record<string, number>, others: number }
  /** Reconciliation sessions in flight (a catch-up among them): keys known to differ, received, sent, bytes. */
  sessions: SessionProgress[]
  /** The public key writes through this node are signed with (`ed25519:…`), or null without a signing key. */
  publicKey: string | null
}

export interface NodeStats {
  sync: SyncStats
  /** Each peer's clock skew, estimated from the stamps it sent (see clockSkew()). */
  clockSkew: ClockSkew[]
  /** Peers refused for their limits or that sent bad messages, with what each cost (the last 1,024 peers seen). */
  peers: Record<string, PeerCost>
  store: StoreStats
  host: HostStats
  binding: BindingStats
}

export const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/0'] as const

export class MonoidbNode {
  /** This peer's libp2p id: how other peers (and change origins) name it. */
  readonly peerId: string
  /** What this node exchanged with its peers, key by key, bounded (core/sync/journal.ts). */
  readonly journal: Journal
  /** Counts committed key changes for event ids and resuming event streams (node/change-counter.ts). */
  readonly changes = new ChangeCounter()
  /** Asks peers about a key, and answers their questions: `monoidb inspect` and `trace` (node/inspect-service.ts). */
  readonly inspector: InspectService
  readonly #store: ReplicaStore
  readonly #host: Host
  readonly #binding: SyncBinding
  readonly #engine: SyncEngine
  /** Undefined for a replicate-all node. */
  readonly #wanted: WantedKeys | undefined
  readonly #book: PeerBook
  readonly #health: PeerHealth
  readonly #updating = new Set<Promise<UpdateResult>>()
  /** Signs the writes made through this node (NodeOptions.signingKey). */
  readonly #signer: SigningKey | undefined
  readonly #registry: ContractRegistry
  #stopping: Promise<void> | undefined

  constructor (parts: { peerId: string, store: ReplicaStore, host: Host, binding: SyncBinding, engine: SyncEngine, wanted?: WantedKeys, journal: Journal, book: PeerBook, health: PeerHealth, inspector: InspectService, signer?: SigningKey, registry: ContractRegistry }) {
    this.#signer = parts.signer
    this.#registry = parts.registry
    this.peerId = parts.peerId
    this.journal = parts.journal
    this.inspector = parts.inspector
    this.#store = parts.store
    this.#host = parts.host
    this.#binding = parts.binding
    this.#engine = parts.engine
    this.#wanted = parts.wanted
    this.#book = parts.book
    this.#health = parts.health
    parts.store.onCommit(c => { this.changes.changed(c.key) })
  }

  /** The public key of the node's signing key (`ed25519:…`): the writer it writes owned keys as; undefined without one. */
  get publicKey (): string | undefined {
    return this.#signer?.publicKey
  }

  /** The store's replica id: how this peer's writes are named inside contract states. */
  get replica (): string {
    return this.#store.replica
  }

  /** Set when this start took a new replica id (the store was not stopped cleanly, or was repaired): the old id and why. */
  get replacedReplica (): ReplicaStore['replaced'] {
    return this.#store.replaced
  }

  /** Addresses other peers can dial, each ending in /p2p/<peer id>. */
  multiaddrs (): string[] {
    return this.#host.multiaddrs()
  }

  /** The key as held here; undefined if this node does not hold it (see `fetch` to ask peers). An owned key shows its inner contract, owner and writers. */
  async get (key: string): Promise<KeyView | undefined> {
    const view = await this.#store.get(key)
    return view === undefined ? undefined : appView(view)
  }

  /**
   * The key as held here or, if it is not, as a peer sends it within `waitMs`: the node asks its peers
   * (a want, PROTOCOL.md) and keeps the key from then on. Undefined if no peer sent it in time.
   */
  async fetch (key: string, waitMs: number, signal?: AbortSignal): Promise<KeyView | undefined> {
    const held = await this.get(key)
    if (held !== undefined || waitMs <= 0) return held
    const sub = this.subscribe(key, { signal: AbortSignal.any([AbortSignal.timeout(waitMs), ...(signal === undefined ? [] : [signal])]) })
    try {
      const now = await this.get(key) // committed between the first get and the subscription
      if (now !== undefined) return now
      for await (const _ of sub) return await this.get(key)
      return undefined
    } finally {
      sub.end()
    }
  }

  /** The key's local writes still in its delta log (the newest 64 per key), oldest first, each with its id (ReplicaStore.writeIdOf). */
  async loggedWrites (key: string): Promise<Array<{ write: string, seq: number, delta: unknown }>> {
    return (await this.#store.deltaLog(key)).map(d => ({ write: d.id ?? this.#store.writeIdOf(key, d.seq), seq: d.seq, delta: d.delta }))
  }

  /** The contract of a recent delta for `key` that this node could not merge, lacking that contract. */
  unknownContractOf (key: string): string | undefined {
    return this.#engine.unknownContractOf(key)
  }

  /**
   * Runs `op` on the key, resolves once it is durably committed, and queues it for pushing to peers. Signed
   * with the node's signing key; `writers` (public keys, the first the owner) creates the key as an owned
   * key. ContractError unauthorized_write, nothing written or sent, when the key is owned and this node's
   * signing key is not a current writer (or it has none).
   */
  async update (key: string, contract: ContractRef, op: string, args: readonly JsonValue[] = [], options: { writers?: string[] } = {}): Promise<UpdateResult> {
    this.#checkRunning()
    const done = (async () => {
      const result = await this.#store.update(key, contract, op, args, { ...(this.#signer === undefined ? {} : { signer: this.#signer }), ...(options.writers === undefined ? {} : { writers: options.writers }) })
      // Pushed under the key's binding as peers know it; the caller sees the app's contract.
      if (result.delta !== undefined) await this.#binding.localUpdate(key, result.contract, result.delta, result.write)
      return appView(result)
    })()
    // stop() waits for updates in flight, so each one it lets finish is pushed too.
    this.#updating.add(done)
    try {
      return await done
    } finally {
      this.#updating.delete(done)
    }
  }

  /**
   * Grants or revokes writers of an owned key held here: the owner's alone (ContractError unauthorized_write
   * when this node's signing key is not the owner's). Undefined if the key is not held here; ContractError
   * contract_mismatch if it is not owned. Resolves, once committed, to the key's writers after the change.
   */
  async writers (key: string, change: { grant: string[] } | { revoke: string[], freeze?: 'all' | 'none' }): Promise<{ key: string, owner: string, writers: string[] } | undefined> {
    const held = await this.#store.get(key)
    if (held === undefined) return undefined
    if (ownedInfo(held.contract) === undefined) throw new ContractError('contract_mismatch', `key ${JSON.stringify(key)} is not an owned key (bound to contract "${held.contract.id}"): it has no writers to change; a key is owned from its first write, made with writers`)
    const r = await this.update(key, held.contract, '@writers', [change])
    return { key, owner: r.owner!, writers: r.writers! }
  }

  /**
   * Every committed change to `key`, as an async iterable: `{ key, contract, value, origin }`, where
   * origin is 'local' or the peer id the change came from. Leave the loop (or abort) to end it.
   */
  subscribe (key: string, options: { signal?: AbortSignal, maxBuffered?: number } = {}): Subscription {
    this.#checkRunning()
    const wanted = this.#wanted
    // Wanted before the engine hears of it, so what peers send in answer is kept.
    wanted?.add(key)
    let sub: Subscription
    try {
      sub = this.#store.subscribe(key, { ...options, map: appView, onEnd: () => wanted?.release(key) })
    } catch (err) {
      wanted?.release(key)
      throw err
    }
    void this.#binding.subscribed(key)
    return sub
  }

  async keys (prefix?: string): Promise<string[]> {
    return await this.#store.keys(prefix)
  }

  /** Connected peers. */
  peers (): PeerInfo[] {
    return this.#host.peers()
  }

  /** Every peer this node knows, connected or not (kept in DIR/peers), with its health (node/peer-health.ts). */
  async knownPeers (): Promise<PeerHealthInfo[]> {
    return await this.#health.list()
  }

  /** Adds a peer (a multiaddr ending in /p2p/<peer id>) and dials it; its health once the dial ended. Kept and redialed until forgotten. */
  async connect (multiaddr: string): Promise<PeerHealthInfo> {
    this.#checkRunning()
    const id = await this.#book.connect(multiaddr)
    const peer = (await this.#health.list()).find(p => p.peerId === id)
    if (peer === undefined) throw new Error(`peer ${id} was forgotten while being connected`)
    return peer
  }

  /** Hangs up on a peer, removes it from DIR/peers and stops redialing it; false if this node does not know it. */
  async forget (peerId: string): Promise<boolean> {
    this.#checkRunning()
    return await this.#book.forget(parsePeerId(peerId))
  }

  async status (): Promise<NodeStatus> {
    return {
      peerId: this.peerId,
      multiaddrs: this.multiaddrs(),
      peers: this.peers().length,
      keys: this.#engine.keyCount(),
      replicateAll: this.#wanted === undefined,
      unknownContracts: this.#engine.stats().unknownContracts,
      unknownContractKeys: this.#unknownContractKeys(),
      sessions: this.#engine.sessionsProgress(),
      publicKey: this.publicKey ?? null
    }
  }

  #unknownContractKeys (): TopCounts {
    const t: TopCounts = { byId: {}, others: 0 }
    for (const name of this.#store.unresolved().values()) countTop(t, name, 1, Infinity)
    return topOf(t)
  }

  /** Counters: the sync protocol's (PROTOCOL.md §9), the store's, the network's. */
  stats (): NodeStats {
    return { sync: this.#engine.stats(), peers: this.#engine.peerCosts(), clockSkew: this.clockSkew(), store: this.#store.stats(), host: this.#host.stats(), binding: this.#binding.stats() }
  }

  /** Each peer's clock skew: how far ahead of ours the stamps it sent lately were (ms), furthest ahead first (core/sync/clock-skew.ts). */
  clockSkew (): ClockSkew[] {
    return this.#engine.clockSkew(Date.now())
  }

  /** A peer's gossipsub score, as this node sees it (negative once it sent messages we rejected). */
  /** Peers banned now (bad frames, floods of refused input), with when each ban ends (ms since the epoch). */
  bans (): Array<{ peer: string, until: number }> {
    return this.#host.bans()
  }

  gossipScore (peer: string): number {
    return this.#host.gossipScore(peer)
  }

  /** Sends pending pushes, stops networking, closes the store. Safe to call more than once. */
  async stop (): Promise<void> {
    this.#stopping ??= (async () => {
      this.inspector.stop()
      await Promise.allSettled([...this.#updating])
      await this.#binding.flush()
      await this.#binding.stop()
      await this.#book.stop()
      await this.#host.stop()
      await this.#book.close()
      await this.#store.close()
    })()
    await this.#stopping
  }

  #checkRunning (): void {
    if (this.#stopping !== undefined) throw new Error(`monoidb node ${this.peerId} is stopped`)
  }
}

/**
 * Opens DIR/store. A folder that holds files must open as the store it was (LevelDB's database and the
 * meta record naming this replica): anything else is refused, naming the repair, never started empty.
 */
async function openStore (dataDir: string, registry: ContractRegistry, durability: Durability): Promise<ReplicaStore> {
  const path = join(dataDir, 'store')
  // LevelDB's info log and lock hold no data: a first start that died after making only them has nothing to keep.
  const existing = (await readdir(path).catch(() => [])).some(f => !/^(LOCK|LOG|LOG\.old)$/.test(f))
  let storage: LevelStorage | undefined
  try {
    if (await access(repairMarker(path)).then(() => true, () => false)) {
      throw new DamagedStoreError(`a repair of store folder ${path} began and did not finish (${repairMarker(path)} is there): its next start must take a new replica id, which only a finished repair records`)
    }
    storage = await LevelStorage.open(path, { sync: durability === 'power', createIfMissing: !existing })
    return await ReplicaStore.open({ storage, registry })
  } catch (err) {
    await storage?.close().catch(() => {})
    throw withRepairHint(err, dataDir)
  }
}

/** A DamagedStoreError found while starting, with the way back named. */
function withRepairHint (err: unknown, dataDir: string): unknown {
  if (!(err instanceof DamagedStoreError) || err.message.includes('monoidb repair')) return err
  return new DamagedStoreError(`${err.message}. Not starting it empty. To recover what LevelDB can: stop anything using ${dataDir}, then run \`monoidb repair --data ${dataDir}\` (the next start then takes a new replica id)`, { cause: err })
}

/** Opens the store in `dataDir`, loads (or creates) the peer key, and starts networking. */
export async function createNode (options: NodeOptions): Promise<MonoidbNode> {
  if (typeof options?.dataDir !== 'string' || options.dataDir.length === 0) throw new TypeError('createNode needs options.dataDir, a folder path')
  const durability = options.durability ?? 'power'
  const signer = signingKeyOption(options.signingKey)
  if (!DURABILITIES.includes(durability)) throw new TypeError(`durability must be ${DURABILITIES.map(d => `'${d}'`).join(' or ')}, got ${JSON.stringify(durability)}`)
  const dataDir = resolve(options.dataDir)
  const limits = resolvePeerLimits(options.limits)
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const access = connectionOptions(options)
  const registry = options.registry ?? createRegistry()
  for (const c of options.contracts ?? []) if (registry.get(c.id) !== c) registry.register(c)
  withOwned(registry) // owned keys (core/envelope/) in any registry
  // The store first: its LevelDB lock is what keeps a second process off this data folder.
  const store = await openStore(dataDir, registry, durability)
  const log = options.log ?? SILENT_LOGGER
  let host: Host | undefined
  let binding: SyncBinding | undefined
  let book: PeerBook | undefined
  let datastore: Awaited<ReturnType<typeof openPeerData>>
  try {
    const privateKey = await loadOrCreatePeerKey(dataDir)
    const peerId = peerIdFromPrivateKey(privateKey).toString()
    const wanted = options.replicateAll === true ? undefined : new WantedKeys()
    // Gossiped pushes are validated by their contracts before they are forwarded (core/sync/push-check.ts).
    const pushCheck = new PushValidator(registry)
    // The settings as given: the engine fills in the defaults (some follow from others, PROTOCOL.md §10).
    let b: SyncBinding | undefined
    let inspector: InspectService | undefined
    const journal = new Journal()
    const engine = await SyncEngine.create(store, {
      self: peerId, now: Date.now(), config: options.sync, interest: wanted, journal, onMisbehaviour: (peer, what) => { b?.misbehaved(peer, what) }
    })
    // The host's handlers reach the binding, which needs the host to send: the host starts only once both exist.
    const listen = options.listen ?? DEFAULT_LISTEN
    datastore = await openPeerData(dataDir, log)
    host = await Host.create(
      { privateKey, listen: await reuseListenPorts(dataDir, listen, log), datastore, ...access, denyDial: peer => book?.isForgotten(peer) ?? false, mdns: options.mdns, limits, checkPush: items => pushCheck.check(items), topics: { [INSPECT_TOPIC]: { check: bytes => inspector!.check(bytes), message: (from, bytes) => { inspector?.message(from, bytes) } } } },
      {
        message: async (from, bytes) => await b?.receive(from, bytes),
        peerJoined: peer => { void b?.peerJoined(peer) },
        peerLeft: peer => { void b?.peerLeft(peer) },
        // Refused in gossip validation, before the engine sees it: the journal still says so.
        refused: (from, key, reason, message) => { journal.record({ kind: 'refused', key, peer: from, path: 'push', reason, message: message.slice(0, 300) }, Date.now()) }
      }
    )
    book = new PeerBook(host.libp2p, { bootstrap: options.bootstrap, log, datastore, allowed: access.allowPeers })
    const h = host
    const health = new PeerHealth({ libp2p: h.libp2p, book, connected: () => h.peers(), inSync: p => engine.peerInSync(p), clockSkew: () => engine.clockSkew(Date.now()), gossipScore: p => h.gossipScore(p) })
    b = binding = new SyncBinding(engine, host, { onError: options.onError })
    inspector = inspectorFor(peerId, store, registry, engine, journal, host)
    await host.start()
    await rememberListenPorts(dataDir, listen, host.multiaddrs()).catch(err => { log.warn({ err: String(err) }, 'cannot record the listen ports for the next start') })
    await book.start()
    binding.start()
    return new MonoidbNode({ peerId, store, host, binding, engine, wanted, journal, book, health, inspector, signer, registry })
  } catch (err) {
    await binding?.stop().catch(() => {})
    await book?.stop().catch(() => {})
    await host?.stop().catch(() => {})
    await datastore?.close().catch(() => {})
    await store.close().catch(() => {})
    // A damaged table is found by the first read that needs it: here, loading the keys.
    throw withRepairHint(err, dataDir)
  }
}

/** NodeOptions.signingKey as a SigningKey; a TypeError that never quotes the key. */
function signingKeyOption (k: SigningKey | string | undefined): SigningKey | undefined {
  if (k === undefined) return undefined
  if (typeof k === 'string') {
    try {
      return signingKeyFromPem(k)
    } catch {
      throw new TypeError('signingKey must be an Ed25519 PKCS#8 private key in PEM, or a SigningKey; the string given is not one')
    }
  }
  if (typeof k?.publicKey !== 'string' || typeof k.sign !== 'function') throw new TypeError('signingKey must be a SigningKey {publicKey, sign} or an Ed25519 PKCS#8 PEM string')
  return k
}

/** The node's inspection service, reading its store, contracts, engine and journal, and speaking on INSPECT_TOPIC. */
function inspectorFor (peerId: string, store: ReplicaStore, registry: ContractRegistry, engine: SyncEngine, journal: Journal, host: Host): InspectService {
  return new InspectService({
    self: peerId,
    source: {
      replica: store.replica,
      summary: async key => await store.summary(key),
      deltaFor: async (key, theirs) => await store.deltaFor(key, theirs),
      // Each entry named as `update` named it (ReplicaStore.writeIdOf, across epochs), not by the current id.
      deltaLog: async key => (await store.deltaLog(key).catch(() => [])).map(d => ({ ...d, id: d.id ?? store.writeIdOf(key, d.seq) })),
      resolve: binding => registry.resolveBound(binding),
      keeps: key => engine.keeps(key),
      lacking: (key, held) => store.unresolved().get(key) ?? (held ? undefined : engine.unknownContractOf(key)),
      journal
    },
    publish: bytes => { host.publish(INSPECT_TOPIC, bytes) },
    charge: (peer, bytes) => engine.limits.chargeAnswer(peer, bytes, Date.now()),
    admit: peer => engine.limits.admitQuestion(peer, Date.now()),
    connected: () => host.peers().map(p => p.peerId)
  })
}
