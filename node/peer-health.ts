/**
 * Peer health: every peer this node knows (node/peer-book.ts), connected or not, with what the API's
 * `GET /v1/peers` and `monoidb peers` show of it (README "Peers"). Round-trip times come from libp2p
 * ping, every PING_MS for each connected peer (and once it is identified); sync and clock figures
 * from the engine.
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { DialError, PeerBook } from './peer-book.ts'

export const PING_MS = 10_000
const PING_TIMEOUT_MS = 5_000
/** Peers pinged at once: a round over many peers is spread out rather than opening every stream at once. */
const PINGS_IN_FLIGHT = 8

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
  /** The last ping's round trip; null if not connected or not answered yet. */
  rttMs: number | null
  /** Its digest equalled ours at its last digest; null when unknown (no recent digest, or partial replication's digests cannot be compared). */
  inSync: boolean | null
  /** How far ahead of our clock its recent stamps were; null without samples. */
  clockSkewMs: number | null
}

export interface HealthSources {
  libp2p: Libp2p<{ ping: Ping }>
  book: PeerBook
  /** Connected peers: addresses of open connections, and whether each subscribes to our topics. */
  connected: () => Array<{ peerId: string, multiaddrs: string[], subscribed: boolean }>
  inSync: (peer: string) => boolean | undefined
  clockSkew: () => Array<{ peer: string, aheadMs: number }>
}

export class PeerHealth {
  readonly #s: HealthSources
  readonly #rtt = new Map<string, number>()
  #timer: ReturnType<typeof setInterval> | undefined
  #stopped = false

  constructor (sources: HealthSources) {
    this.#s = sources
    const { libp2p } = sources
    libp2p.addEventListener('peer:identify', evt => { void this.#ping(evt.detail.peerId) })
    libp2p.addEventListener('peer:disconnect', evt => { this.#rtt.delete(evt.detail.toString()) })
  }

  start (): void {
    this.#timer = setInterval(() => { void this.#pingAll() }, PING_MS)
    this.#timer.unref()
  }

  stop (): void {
    this.#stopped = true
    clearInterval(this.#timer)
  }

  /** Every known peer: connected ones first, then by when they were last seen, newest first. */
  async list (): Promise<PeerHealthInfo[]> {
    const now = Date.now()
    const connected = new Map(this.#s.connected().map(p => [p.peerId, p]))
    const skew = new Map(this.#s.clockSkew().map(c => [c.peer, c.aheadMs]))
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
        rttMs: c === undefined ? null : this.#rtt.get(peerId) ?? null,
        inSync: this.#s.inSync(peerId) ?? null,
        clockSkewMs: skew.get(peerId) ?? null
      }
    })
    return out.sort((a, b) => Number(b.connected) - Number(a.connected) || (b.lastSeen ?? 0) - (a.lastSeen ?? 0) || (a.peerId < b.peerId ? -1 : 1))
  }

  async #pingAll (): Promise<void> {
    const peers = this.#s.libp2p.getPeers()
    for (let i = 0; i < peers.length && !this.#stopped; i += PINGS_IN_FLIGHT) {
      await Promise.all(peers.slice(i, i + PINGS_IN_FLIGHT).map(async p => { await this.#ping(p) }))
    }
  }

  async #ping (peer: PeerId): Promise<void> {
    if (this.#stopped) return
    try {
      const ms = await this.#s.libp2p.services.ping.ping(peer, { signal: AbortSignal.timeout(PING_TIMEOUT_MS) })
      if (this.#s.libp2p.getConnections(peer).length > 0) this.#rtt.set(peer.toString(), Math.round(ms * 10) / 10)
    } catch {
      // Not answered (an older peer without ping, or a slow one): rttMs stays as it was.
    }
  }
}

/** The address ending in /p2p/<peer id>, as `monoidb connect` and --bootstrap take it. */
function withPeerId (addr: string, peerId: string): string {
  return addr.endsWith(`/p2p/${peerId}`) ? addr : `${addr}/p2p/${peerId}`
}
