/**
 * The daemon's inbound path, in process, for the fuzzer: a real libp2p Host (node/libp2p-host.ts,
 * listening on loopback) with its real gossip validators and its real sync-stream reader
 * (node/sync-streams.ts), wired as createNode wires them (node/node.ts) to a SyncBinding, a
 * SyncEngine, a PushValidator and an InspectService over a ReplicaStore on LevelDB on disk. The
 * node replicates every key (the widest surface: every valid push is merged).
 *
 * Entry points: `gossip` calls the topic validator gossipsub calls for a signed message (its
 * deliverer: its author), and waits for the engine to handle what the validator handed on (the
 * gossip gate, node/gossip-gate.ts, and the bans, node/refusal-bans.ts, run as in the daemon: the
 * fuzzer rotates identities as a Sybil attacker would, so they do not stop it reaching the decoders); `frame` opens an in-memory stream
 * (@libp2p/utils mock muxers over an in-memory connection) to the registered /monoidb/sync/1.0.0 handler, writes the bytes,
 * closes, and waits for the reader to finish. Outbound traffic (answers, publishes) is counted and
 * dropped: what is under test is what comes in. Counters are the daemon's own (Host.stats, the
 * engine's SyncStats).
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import type { PeerId, Stream, StreamMuxer } from '@libp2p/interface'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { mockMuxer, multiaddrConnectionPair } from '@libp2p/utils'
import { type Plain, encode } from '../../core/codec.ts'
import type { AnyContract } from '../../core/contract.ts'
import { LevelStorage } from '../../core/level-storage.ts'
import type { ContractRegistry } from '../../core/registry.ts'
import { ReplicaStore } from '../../core/replica-store.ts'
import { SyncEngine, type SyncStats } from '../../core/sync/engine.ts'
import { INSPECT_TOPIC } from '../../core/sync/inspect-messages.ts'
import { Journal } from '../../core/sync/journal.ts'
import { PushValidator } from '../../core/sync/push-check.ts'
import { createRegistry } from '../../contracts/index.ts'
import { Host, type HostStats } from '../../node/libp2p-host.ts'
import { InspectService } from '../../node/inspect-service.ts'
import { SyncBinding } from '../../node/sync-binding.ts'
import { SYNC_PROTOCOL } from '../../node/sync-streams.ts'

export interface Counters { host: HostStats, sync: SyncStats, inspect: InspectService['stats'], published: number, sent: number }

type StreamHandler = (stream: Stream, connection: { remotePeer: { toString: () => string } }) => Promise<void> | void

export class InboundTarget {
  readonly peerId: string
  readonly registry: ContractRegistry
  /** Errors raised inside the engine's queue or a handler: hostile input must never cause one. */
  readonly errors: unknown[] = []
  readonly #dir: string
  readonly #host: Host
  readonly #binding: SyncBinding
  readonly #engine: SyncEngine
  readonly #inspector: InspectService
  readonly #store: ReplicaStore
  readonly #pending: Set<Promise<unknown>>
  readonly #out: { published: number, sent: number }
  /** An in-memory connection whose muxers carry the fuzzer's streams (one stream per frame). */
  #muxers: { local: StreamMuxer, remote: StreamMuxer } | undefined
  #closed = false

  private constructor (parts: { dir: string, peerId: string, registry: ContractRegistry, host: Host, binding: SyncBinding, engine: SyncEngine, inspector: InspectService, store: ReplicaStore, pending: Set<Promise<unknown>>, out: { published: number, sent: number }, errors: unknown[] }) {
    this.#dir = parts.dir
    this.peerId = parts.peerId
    this.registry = parts.registry
    this.#host = parts.host
    this.#binding = parts.binding
    this.#engine = parts.engine
    this.#inspector = parts.inspector
    this.#store = parts.store
    this.#pending = parts.pending
    this.#out = parts.out
    this.errors = parts.errors
  }

  /** `seed`: the target's peer key follows from it (inspection answers name it), so a run's bytes follow from the seed alone. */
  static async open (seed = 0): Promise<InboundTarget> {
    const dir = await mkdtemp(join(tmpdir(), 'monoidb-fuzz-'))
    const registry = createRegistry()
    const store = await ReplicaStore.open({ storage: await LevelStorage.open(join(dir, 'store')), registry })
    const privateKey = await generateKeyPairFromSeed('Ed25519', seedBytes(`target ${seed}`))
    const peerId = peerIdFromPrivateKey(privateKey).toString()
    const journal = new Journal()
    const errors: unknown[] = []
    const out = { published: 0, sent: 0 }
    const pending = new Set<Promise<unknown>>()
    let binding: SyncBinding | undefined
    let inspector: InspectService | undefined
    let host: Host | undefined
    const engine = await SyncEngine.create(store, { self: peerId, now: Date.now(), journal, onMisbehaviour: (peer, what) => { binding?.misbehaved(peer, what) } })
    const pushCheck = new PushValidator(registry)
    host = await Host.create(
      { privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], checkPush: items => pushCheck.check(items), topics: { [INSPECT_TOPIC]: { check: bytes => inspector!.check(bytes), message: (from, bytes) => { inspector?.message(from, bytes) } } } },
      {
        message: async (from, bytes) => {
          const p = (binding as SyncBinding).receive(from, bytes)
          pending.add(p)
          try { return await p } finally { pending.delete(p) }
        },
        peerJoined: () => {},
        peerLeft: () => {},
        refused: (from, key, reason, message) => { journal.record({ kind: 'refused', key, peer: from, path: 'push', reason, message: message.slice(0, 300) }, Date.now()) }
      }
    )
    const h = host
    binding = new SyncBinding(engine, {
      publish: () => { out.published++ },
      send: () => { out.sent++ },
      // What the engine refused is passed on, as the host's own transport does (node/node.ts): floods of it get a peer banned.
      misbehaved: (peer, what) => { h.misbehaved(peer, what) }
    }, { onError: err => { errors.push(err) } })
    inspector = new InspectService({
      self: peerId,
      source: {
        replica: store.replica,
        summary: async key => await store.summary(key),
        deltaFor: async (key, theirs) => await store.deltaFor(key, theirs),
        deltaLog: async key => (await store.deltaLog(key).catch(() => [])).map(d => ({ ...d, id: d.id ?? store.writeIdOf(key, d.seq) })),
        resolve: b => registry.resolveBound(b),
        keeps: key => engine.keeps(key),
        lacking: (key, held) => store.unresolved().get(key) ?? (held ? undefined : engine.unknownContractOf(key)),
        journal
      },
      publish: () => { out.published++ },
      charge: (peer, bytes) => engine.limits.chargeAnswer(peer, bytes, Date.now()),
      admit: peer => engine.limits.admitQuestion(peer, Date.now()),
      connected: () => []
    })
    await host.start()
    return new InboundTarget({ dir, peerId, registry, host, binding, engine, inspector, store, pending, out, errors })
  }

  /** A signed gossip message from `author` on `topic`: runs the host's validator, then waits for the engine. */
  async gossip (topic: string, author: PeerId, data: Uint8Array): Promise<TopicValidatorResult> {
    const validator = this.#host.libp2p.services.pubsub.topicValidators.get(topic)
    if (validator === undefined) throw new Error(`no validator for topic ${topic}`)
    const msg = { type: 'signed', from: author, topic, data, sequenceNumber: 1n, signature: new Uint8Array(64), key: author.publicKey } as unknown as Message
    const result = await validator(author, msg)
    await this.settled(topic === INSPECT_TOPIC)
    return result
  }

  /**
   * Bytes a peer writes on a fresh sync stream (a length prefix and a payload, or anything), then closes: waits for the
   * reader to end. Returns the ms from the write to then (the stream's set-up left out).
   */
  async frame (peer: string, raw: Uint8Array): Promise<number> {
    const registrar = (this.#host.libp2p as unknown as { components: { registrar: { getHandler: (p: string) => { handler: StreamHandler } } } }).components.registrar
    if (this.#muxers === undefined) {
      const [outConn, inConn] = multiaddrConnectionPair({ delay: 0 })
      this.#muxers = { local: mockMuxer().createStreamMuxer(outConn), remote: mockMuxer().createStreamMuxer(inConn) }
    }
    const { local, remote } = this.#muxers
    const [inbound, outbound] = await Promise.all([
      new Promise<Stream>(resolve => { remote.addEventListener('stream', evt => { resolve(evt.detail) }, { once: true }) }),
      local.createStream()
    ])
    const reading = registrar.getHandler(SYNC_PROTOCOL).handler(inbound, { remotePeer: { toString: () => peer } })
    const t0 = performance.now()
    if (raw.length > 0) outbound.send(raw)
    outbound.close().catch(() => {})
    await reading
    await this.settled()
    const ms = performance.now() - t0
    if (outbound.status === 'open') outbound.abort(new Error('fuzz frame done'))
    return ms
  }

  /** A peer went away (as the host reports a disconnection): the engine drops its sessions. */
  async peerLeft (peer: string): Promise<void> {
    await this.#binding.peerLeft(peer)
  }

  /** Waits until the engine has handled everything handed to it (and, with `turn`, gives inspection answers a turn of the event loop). */
  async settled (turn = false): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending])
    if (turn) await new Promise(resolve => setImmediate(resolve))
  }

  counters (): Counters {
    return { host: this.#host.stats(), sync: this.#engine.stats(), inspect: { ...this.#inspector.stats }, published: this.#out.published, sent: this.#out.sent }
  }

  /**
   * Every key held: its state and summary validate under its contract and re-encode to the same bytes.
   * Then stops the node and reopens its store from disk, and checks every key again. Returns the key count; throws naming a bad key.
   */
  async checkStore (): Promise<number> {
    const n = await checkKeys(this.#store, this.registry)
    await this.close(false)
    const again = await ReplicaStore.open({ storage: await LevelStorage.open(join(this.#dir, 'store'), { createIfMissing: false }), registry: this.registry })
    try {
      const m = await checkKeys(again, this.registry)
      if (m !== n) throw new Error(`the store held ${n} keys before reopening, ${m} after`)
    } finally {
      await again.close()
    }
    return n
  }

  /** Stops everything and (unless `keep`) removes the data folder. */
  async close (remove = true): Promise<void> {
    if (!this.#closed) {
      this.#closed = true
      this.#inspector.stop()
      this.#muxers?.local.abort(new Error('fuzz target closing'))
      this.#muxers?.remote.abort(new Error('fuzz target closing'))
      await this.#binding.stop()
      await this.#host.stop()
      await this.#store.close()
    }
    if (remove) await rm(this.#dir, { recursive: true, force: true })
  }
}

async function checkKeys (store: ReplicaStore, registry: ContractRegistry): Promise<number> {
  const keys = await store.keys()
  for (const key of keys) {
    const sum = await store.summary(key)
    if (sum === undefined) throw new Error(`key ${JSON.stringify(key)} is listed but has no summary`)
    const c: AnyContract = registry.resolveBound(sum.contract)
    // The whole state: what a peer holding nothing lacks (undefined: the empty state).
    const held = (await store.deltaFor(key))?.delta ?? c.empty() as Plain
    const state = c.validate(held) as Plain
    if (Buffer.compare(encode(state), encode(held)) !== 0) throw new Error(`key ${JSON.stringify(key)}: its state is not what its contract's validate makes of it`)
    c.validateSummary(sum.summary)
    if (Buffer.compare(encode(c.summarize(state) as Plain), encode(sum.summary)) !== 0) throw new Error(`key ${JSON.stringify(key)}: its stored summary is not its state's`)
    c.view(state)
  }
  return keys.length
}

/** 32 bytes derived from a text: a deterministic Ed25519 seed. */
export function seedBytes (text: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(text).digest())
}
