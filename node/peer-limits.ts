/**
 * The libp2p side's connection limits, stated rather than left to libp2p's
 * defaults, so that a stranger's sockets cannot spend our descriptors or keep
 * honest peers out. (The HTTP API has its own: node/connection-cap.ts.)
 *
 * An inbound socket is "pending" until noise and yamux are negotiated; libp2p
 * refuses new inbound sockets while `maxIncomingPendingConnections` are
 * pending. Its defaults (10 pending, a 10 s upgrade timeout, 5 new sockets
 * per second per address) let one address that connects and then stays
 * silent hold every pending slot, refusing all inbound peers for as long as
 * it keeps at it. Here one address can hold at most
 * INBOUND_PER_SECOND × (UPGRADE_TIMEOUT_MS / 1000 + 1) = 30 pending sockets,
 * under the 64 slots: it takes several addresses acting together to fill them.
 */
import type { ConnectionManagerInit } from 'libp2p'
import type { TCPOptions } from '@libp2p/tcp'

/** Peers connected at once (libp2p's default). Past it libp2p prunes the least valued connections; inbound ones are refused. */
export const MAX_PEER_CONNECTIONS = 300
/** Inbound sockets still negotiating encryption and muxing. */
export const MAX_PENDING_INBOUND = 64
/** An honest handshake takes a few round trips; a socket silent for this long is a stranger's (libp2p's default: 10 s). */
export const UPGRADE_TIMEOUT_MS = 5_000
/** New inbound sockets per second from one IP address; more are refused at once (libp2p's default). */
export const INBOUND_PER_SECOND = 5
/** A connection with no traffic for this long is closed (libp2p's default; live peers gossip digests every anti-entropy period, 1 s by default). */
export const SOCKET_INACTIVITY_MS = 2 * 60_000

export const connectionManagerLimits: ConnectionManagerInit = {
  maxConnections: MAX_PEER_CONNECTIONS,
  maxIncomingPendingConnections: MAX_PENDING_INBOUND,
  inboundUpgradeTimeout: UPGRADE_TIMEOUT_MS,
  inboundConnectionThreshold: INBOUND_PER_SECOND
}

export const tcpLimits: TCPOptions = {
  // The socket-level bound behind the connection manager's: node's server closes any socket past it at once.
  maxConnections: MAX_PEER_CONNECTIONS + MAX_PENDING_INBOUND,
  inboundSocketInactivityTimeout: SOCKET_INACTIVITY_MS,
  outboundSocketInactivityTimeout: SOCKET_INACTIVITY_MS
}
