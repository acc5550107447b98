/**
 * The sync engine's edges. It is sans-I/O toward the network: events go in
 * (a local delta, bytes from a peer, a peer joining or leaving, a timer tick
 * with the current time), and actions come out (publish bytes on a gossip
 * topic, send bytes to one peer over a direct stream). It has no timers and no
 * sockets of its own, so the simulator (sim/) and the daemon (node/) drive the
 * same code. Storage it reaches through `SyncStore`, which ReplicaStore is.
 */
import type { Plain } from '../codec.ts'
import type { ContractRef } from '../contract.ts'
import type { CommitListener, MergeOutcome, RemoteDelta } from '../replica-store.ts'
import type { BoundRef } from '../subscription.ts'
import type { Journal } from './journal.ts'
import type { Misbehaviour } from './peer-budget.ts'

/** An opaque peer name: a libp2p peer id in the daemon, "p0"… in the simulator. */
export type PeerId = string

/** What the engine needs of a replica store. */
export interface SyncStore {
  keys (prefix?: string): Promise<string[]>
  summary (key: string): Promise<{ contract: BoundRef, summary: Plain } | undefined>
  deltaFor (key: string, theirSummary?: unknown): Promise<{ contract: BoundRef, delta: Plain } | undefined>
  mergeRemoteMany (items: readonly RemoteDelta[]): Promise<MergeOutcome[]>
  onCommit (listener: CommitListener): () => void
  /** The greatest wall-clock stamp a valid delta of `contract` carries (Contract.stampOf), for clock-skew estimates; optional. */
  stampOf? (contract: ContractRef, delta: unknown): number | undefined
}

/**
 * Gossip topics, `monoidb/<protocol version>/<what>`; every peer subscribes to all three (PROTOCOL.md §2).
 * A peer that keeps only some keys still hears every push and drops what it does not keep.
 */
export const PUSH_TOPIC = 'monoidb/3/push'
export const DIGEST_TOPIC = 'monoidb/3/digest'
export const WANT_TOPIC = 'monoidb/3/want'
/**
 * Pushes that carry write ids (message type 9, `writes`): a peer that knows the type subscribes to it as well;
 * a peer before it never does, so it is never sent a type it does not know (PROTOCOL.md §4).
 */
export const WRITES_TOPIC = 'monoidb/3/writes'

/**
 * Partial replication: the keys a peer keeps beside those it holds. A peer with no Interest keeps every
 * key it hears of (replicate-all); one with an Interest keeps the keys it holds (written, or fetched when
 * read) and those `wants` names (watched, or being read), and drops deltas of any other key.
 */
export interface Interest {
  wants (key: string): boolean
  /** The wanted keys, held or not: the partial peer's anti-entropy asks its peers for those it lacks. */
  wanted (): Iterable<string>
}

export type SyncAction =
  /**
   * Publish on a gossip topic: best effort, to every peer subscribed. `legacy`: the same push as type 1, for
   * `topic`'s stand-in (the push topic), to publish too when some peer hears that topic and not `topic`.
   */
  | { type: 'publish', topic: string, bytes: Uint8Array, legacy?: { topic: string, bytes: () => Uint8Array } }
  /** Send to one peer over a direct stream: best effort too (the link may drop it). */
  | { type: 'send', to: PeerId, bytes: Uint8Array }
  /**
   * Publish `bytes` on `topic` only when some peer hears `topic` and not `lacking` (a peer before `lacking`'s
   * message type): a newer peer's type-1 copy of a writes push it accepted, for older peers beyond it
   * (PROTOCOL.md §3.1). `bytes` is encoded when first read. Networks whose peers all hear `lacking` (the
   * simulator's) drop it.
   */
  | { type: 'relay', topic: string, lacking: string, readonly bytes: Uint8Array }

/** A direct send (what sessions make). */
export type SendAction = Extract<SyncAction, { type: 'send' }>

export interface SyncConfig {
  /** A local delta waits at most this long (ms) for others to share its push message. Default 10. */
  pushWindowMs: number
  /** Under load (many writes a window) the push window doubles up to this (ms). Default 5 × pushWindowMs (50). */
  maxPushWindowMs: number
  /** Largest message the engine emits, in bytes (deltas are chunked to fit). Default 1 MiB. */
  maxMessageBytes: number
  /** Anti-entropy period (ms): a digest is published every period. Default 1000. */
  antiEntropyMs: number
  /** Reconciliation sessions this peer starts at once. Default 1. */
  maxSessions: number
  /** A session with no answer for this long (ms) is dropped. Default 5000. */
  sessionTimeoutMs: number
  /** Per-peer limits (peer-budget.ts): sessions a peer may open with us per anti-entropy period (twice that at once). Default 4. */
  peerSessionsPerPeriod: number
  /** Bytes our answers to one peer (resends included) may cost per second (one second's worth at once). Default 4 MiB. */
  peerBytesPerSec: number
  /** Bytes of our session messages one peer may leave unacked; past this its requests wait. Default 8 MiB. */
  peerUnackedBytes: number
  /** Keys answered per second over all wants (whole states pushed for peers that lack them). Default 4096. */
  wantKeysPerSec: number
}

export interface SyncOptions {
  /** This peer's id, as other peers name it. */
  self: PeerId
  /** Current time (ms) at creation. */
  now: number
  /** Seeded randomness for jitter and peer choice (default Math.random): the simulator replays with it. */
  random?: () => number
  config?: Partial<SyncConfig>
  /** Partial replication (see Interest); absent: this peer keeps every key (replicate-all). */
  interest?: Interest
  /**
   * Told of each request refused for a peer's limits and of each undecodable message, with its sender:
   * the daemon lowers the peer's score and closes the stream that carried bad bytes. Must not throw.
   */
  onMisbehaviour?: (peer: PeerId, what: Misbehaviour) => void
  /** Where the engine records what it exchanged (journal.ts); default: a journal of its own; null: none (benchmarks' baseline). */
  journal?: Journal | null
}

/** A key's identity in digests: a `ContractRef` as the store binds it, with the summary. */
export interface KeySummary { key: string, contract: ContractRef, summary: Plain }
