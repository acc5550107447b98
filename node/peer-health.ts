/**
 * Peer health: every peer this node knows (node/peer-book.ts), connected or not, with what the API's
 * `GET /v1/peers` and `monoidb peers` show of it (README "Peers"). Round-trip times are those libp2p's
 * connection monitor measures, pinging each connection every 10 s (`Connection.rtt`); sync and clock
 * figures come from the engine.
 *
 * This module never pings. The ping protocol allows one outbound stream per connection, and the monitor
 * aborts a connection whose ping fails, refused as a second stream included. A ping of our own (libp2p's
 * ping service closes its end as soon as it has sent) can stay open for 10 s when the peer's handler starts
 * late and misses that close, so the monitor's next ping was refused and the connection dropped, 5 to 10 s
 * after it opened, every time it happened.
 */
import type { Libp2p } from '@libp2p/interface'
import type { DialError, PeerBook } from './peer-book.ts'

export interface PeerHealthInfo {
  peerId: string
  /** Where it can be reached, each ending in /p2p/<peer id>: the addresses it announced (kept in DIR/peers), then those of open connections to it. */
  multiaddrs: string[]
  /** It subscribes to the sync topics: our pushes and digests reach it by gossip. */
  subscribed: boolean
  connected: boolean
  /** When the current connection opened (ms since the epoch); null if not connected. */
  connectedSince: number | null
  /** When it was last connected (now, if it is), across restarts; null if never. */
  lastSeen: number | null
  /** The last failed dial to it, kept after a later success; null if none this run. */
  lastDialError: DialError | null
  /** The round trip of libp2p's last ping of the connection (every 10 s); null if not connected or not measured yet. */
  rttMs: number | null
  /** Its digest equalled ours at its last digest; null when unknown (no recent digest, or partial replication's digests cannot be compared). */
  inSync: boolean | null
  /** How far ahead of our clock its recent stamps were; null without samples. */
  clockSkewMs: number | null
  /** Its gossipsub score here (falls when we reject its messages; below −80 it is graylisted); null if not connected and none is kept. */
  gossipScore: number | null
}

export interface HealthSources {
  libp2p: Libp2p
  book: PeerBook
  /** Connected peers: addresses of open connections, and whether each subscribes to our topics. */
  connected: () => Array<{ peerId: string, multiaddrs: string[], subscribed: boolean }>
  inSync: (peer: string) => boolean | undefined
  clockSkew: () => Array<{ peer: string, aheadMs: number }>
  /** A peer's gossipsub score (node/libp2p-host.ts). */
  gossipScore?: (peer: string) => number
}

export class PeerHealth {
  readonly #s: HealthSources

  constructor (sources: HealthSources) {
    this.#s = sources
  }

  /** Every known peer: connected ones first, then by when they were last seen, newest first. */
  async list (): Promise<PeerHealthInfo[]> {
    const now = Date.now()
    const connected = new Map(this.#s.connected().map(p => [p.peerId, p]))
    const skew = new Map(this.#s.clockSkew().map(c => [c.peer, c.aheadMs]))
    const rtt = new Map<string, number>()
    for (const c of this.#s.libp2p.getConnections()) {
      const id = c.remotePeer.toString()
      if (c.status === 'open' && typeof c.rtt === 'number' && !rtt.has(id)) rtt.set(id, Math.round(c.rtt * 10) / 10)
    }
    const known = await this.#s.book.known()
    for (const id of connected.keys()) if (!known.some(k => k.peerId === id)) known.push({ peerId: id })
    const out = known.map(({ peerId, stored }): PeerHealthInfo => {
      const c = connected.get(peerId)
      const s = this.#s.book.state(peerId)
      const announced = (stored?.addresses ?? []).map(a => a.multiaddr.toString())
      return {
        peerId,
        multiaddrs: [...new Set([...announced, ...c?.multiaddrs ?? []].map(a => withPeerId(a, peerId)))],
        subscribed: c?.subscribed ?? false,
        connected: c !== undefined,
        connectedSince: c === undefined ? null : s?.connectedSince ?? null,
        lastSeen: c !== undefined ? now : s?.lastSeen ?? null,
        lastDialError: s?.lastDialError ?? null,
        rttMs: c === undefined ? null : rtt.get(peerId) ?? null,
        inSync: this.#s.inSync(peerId) ?? null,
        clockSkewMs: skew.get(peerId) ?? null,
        gossipScore: scoreOf(c !== undefined, this.#s.gossipScore?.(peerId))
      }
    })
    return out.sort((a, b) => Number(b.connected) - Number(a.connected) || (b.lastSeen ?? 0) - (a.lastSeen ?? 0) || (a.peerId < b.peerId ? -1 : 1))
  }
}

/** The address ending in /p2p/<peer id>, as `monoidb connect` and --bootstrap take it. */
function withPeerId (addr: string, peerId: string): string {
  return addr.endsWith(`/p2p/${peerId}`) ? addr : `${addr}/p2p/${peerId}`
}

/**
 * A score to 3 decimals (scores decay continuously: more digits say nothing). gossipsub keeps a
 * disconnected peer's score for a while (so leaving does not clear it): shown while not 0.
 */
function scoreOf (connected: boolean, x: number | undefined): number | null {
  if (x === undefined || !Number.isFinite(x) || (!connected && x === 0)) return null
  return Math.round(x * 1000) / 1000
}
