/**
 * The peer-side resource limits a node can be given (`createNode({ limits })`,
 * the daemon's `--max-peers`, `--peer-streams`, … flags; README "Security",
 * "Resource limits"), checked, and turned into what libp2p, TCP and the sync
 * streams take. Limits the sync engine enforces (answer bytes and sessions per
 * peer, unacked bytes, want answers per second) are SyncConfig settings
 * (`sync`, PROTOCOL.md §10); those of the HTTP API are the API's own.
 */
import type { ConnectionManagerInit } from 'libp2p'
import type { TCPOptions } from '@libp2p/tcp'
import { INBOUND_PER_SECOND, MAX_PEER_CONNECTIONS, MAX_PENDING_INBOUND, connectionManagerLimits, tcpLimits } from './peer-limits.ts'
import { BAN_MS, MAX_INBOUND_STREAMS, MAX_STRIKES, type StreamLimits } from './sync-streams.ts'

export interface PeerLimitOptions {
  /** Peers connected at once (default 300). */
  maxPeers?: number
  /** Inbound sockets still negotiating encryption and muxing (default 64). */
  maxPendingPeers?: number
  /** New inbound sockets per second from one IP address (default 5). */
  inboundPerSecond?: number
  /** Sync streams one peer may have open to us at once (default 4). */
  peerStreams?: number
  /** Bad frames from one peer within a minute after which it is banned (default 3). */
  peerStrikes?: number
  /** How long a ban lasts, ms: its connections and streams are refused meanwhile (default 30,000). */
  peerBanMs?: number
}

export const PEER_LIMIT_DEFAULTS: Readonly<Required<PeerLimitOptions>> = {
  maxPeers: MAX_PEER_CONNECTIONS,
  maxPendingPeers: MAX_PENDING_INBOUND,
  inboundPerSecond: INBOUND_PER_SECOND,
  peerStreams: MAX_INBOUND_STREAMS,
  peerStrikes: MAX_STRIKES,
  peerBanMs: BAN_MS
}

/** The defaults overridden by `o`, or a TypeError naming the bad setting (each a whole number ≥ 1). */
export function resolvePeerLimits (o: PeerLimitOptions = {}): Required<PeerLimitOptions> {
  if (o === null || typeof o !== 'object') throw new TypeError('limits must be an object')
  const unknown = Object.keys(o).filter(k => !(k in PEER_LIMIT_DEFAULTS))
  if (unknown.length > 0) throw new TypeError(`unknown limit(s) ${unknown.join(', ')}; limits are ${Object.keys(PEER_LIMIT_DEFAULTS).join(', ')}`)
  const out = { ...PEER_LIMIT_DEFAULTS }
  for (const [k, v] of Object.entries(o) as Array<[keyof PeerLimitOptions, unknown]>) {
    if (v === undefined) continue
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new TypeError(`limit ${k} must be a whole number ≥ 1, got ${JSON.stringify(v)}`)
    out[k] = v
  }
  return out
}

export function connectionManagerFor (l: Required<PeerLimitOptions>): ConnectionManagerInit {
  return { ...connectionManagerLimits, maxConnections: l.maxPeers, maxIncomingPendingConnections: l.maxPendingPeers, inboundConnectionThreshold: l.inboundPerSecond }
}

export function tcpFor (l: Required<PeerLimitOptions>): TCPOptions {
  return { ...tcpLimits, maxConnections: l.maxPeers + l.maxPendingPeers }
}

export function streamLimitsFor (l: Required<PeerLimitOptions>, onBan?: StreamLimits['onBan']): StreamLimits {
  return { maxInboundStreams: l.peerStreams, maxStrikes: l.peerStrikes, banMs: l.peerBanMs, onBan }
}
