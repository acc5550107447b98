/**
 * The peers this node knows, kept across restarts, and the redialing of them.
 *
 * libp2p's peer store lives on LevelDB in DIR/peers (node/peer-data.ts): the addresses each peer announced
 * (identify replaces them with its signed record, so a peer that moved is found at its new address), its
 * protocols, and our own metadata: when we last saw it connected, and whether a user added it (connect).
 *
 * Whom we redial: bootstrap peers, peers added with connect, peers found by mDNS, and peers we were
 * connected to that speak the monoidb sync protocol, at most MAX_REDIALED (the most recently seen) at a start. A start dials them
 * at once; a peer that drops is redialed REDIAL_FIRST_MS later. Each failure doubles the wait, up to
 * REDIAL_MAX_MS (±20% jitter), and is logged and kept (lastDialError). Bootstrap and added peers are
 * redialed at that pace until forgotten; learned peers are given up after GIVE_UP_AFTER failures in a row
 * (about 8 minutes) and redialed again only once they connect to us or are connected to. At most
 * MAX_PARALLEL_DIALS dials run at once, each for at most DIAL_TIMEOUT_MS.
 *
 * A forgotten peer is not dialed again, by the book nor by anything else here (a sync stream would dial
 * it), until connect adds it again or it connects to us; the last MAX_FORGOTTEN are remembered so.
 *
 * Strangers can connect too: the book holds at most MAX_KNOWN_PEERS peers, in memory and in DIR/peers,
 * dropping the least recently seen (never a bootstrap or added peer, nor a connected one).
 */
import type { Libp2p, Peer, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { LevelDatastore } from 'datastore-level'
import type { Logger } from './logger.ts'
import { PeerAddressError, parsePeerAddress } from './peer-address.ts'
import { ADDED, LAST_SEEN, lastSeenOf, withoutPeerId } from './peer-data.ts'
import { SYNC_PROTOCOL } from './sync-streams.ts'

export const REDIAL_FIRST_MS = 1_000
export const REDIAL_MAX_MS = 30_000
export const GIVE_UP_AFTER = 20
export const MAX_PARALLEL_DIALS = 8
export const DIAL_TIMEOUT_MS = 10_000
export const MAX_REDIALED = 64
export const MAX_KNOWN_PEERS = 256
export const MAX_FORGOTTEN = 1_024
const TICK_MS = 250
/** lastSeen of connected peers is written this often, so a crash loses at most this much of it. */
const PERSIST_SEEN_MS = 60_000

export interface DialError { at: number, message: string }

/** What the book knows of a peer beyond its addresses. Times are ms since the epoch. */
export interface PeerState {
  lastSeen?: number
  connectedSince?: number
  lastDialError?: DialError
  /** Failed dials in a row. */
  failures: number
  /** When to dial it next; undefined: not scheduled. */
  nextDialAt?: number
  dialing: boolean
  bootstrap: boolean
  added: boolean
  /** It speaks the monoidb sync protocol (identify said so). */
  monoidb: boolean
}

export interface BookOptions {
  bootstrap?: readonly string[]
  log: Logger
  /** The peer store's datastore (openPeerData): closed by close(). */
  datastore?: LevelDatastore
  /** Tests shorten the waits. */
  redialFirstMs?: number
  redialMaxMs?: number
  /** Peers kept at most (default MAX_KNOWN_PEERS). */
  maxKnown?: number
  /** With --allow-peer, the peers we may connect with: no other is dialed (each is logged once). */
  allowed?: ReadonlySet<string>
}

export class PeerBook {
  readonly #libp2p: Libp2p
  readonly #log: Logger
  readonly #states = new Map<string, PeerState>()
  readonly #bootstrap: Array<{ peerId: PeerId, addr: Multiaddr }>
  readonly #first: number
  readonly #max: number
  readonly #maxKnown: number
  readonly #datastore: LevelDatastore | undefined
  /** Forgotten peers, oldest first: not dialed (node/libp2p-host.ts denyDial). */
  readonly #forgotten = new Set<string>()
  readonly #allowed: ReadonlySet<string> | undefined
  /** Peers not allowed that we were asked to dial, logged once each (bounded like the forgotten ones). */
  readonly #notAllowedLogged = new Set<string>()
  #inFlight = 0
  #persistedAt = Date.now()
  #timer: ReturnType<typeof setInterval> | undefined
  #stopped = false

  /** Parses the bootstrap list (a bad address throws, naming it); call start() once libp2p runs. */
  constructor (libp2p: Libp2p, options: BookOptions) {
    this.#libp2p = libp2p
    this.#log = options.log
    this.#datastore = options.datastore
    this.#first = options.redialFirstMs ?? REDIAL_FIRST_MS
    this.#max = options.redialMaxMs ?? REDIAL_MAX_MS
    this.#maxKnown = options.maxKnown ?? MAX_KNOWN_PEERS
    this.#allowed = options.allowed
    this.#bootstrap = (options.bootstrap ?? []).map(b => parsePeerAddress(b, 'bootstrap address'))
    libp2p.addEventListener('peer:connect', evt => { this.#connected(evt.detail) })
    libp2p.addEventListener('peer:disconnect', evt => { this.#disconnected(evt.detail) })
    libp2p.addEventListener('peer:identify', evt => {
      const s = this.#states.get(evt.detail.peerId.toString())
      if (s !== undefined && evt.detail.protocols.includes(SYNC_PROTOCOL)) s.monoidb = true
    })
    libp2p.addEventListener('peer:update', evt => { this.#updated(evt.detail.peer, evt.detail.previous) })
    libp2p.addEventListener('peer:discovery', evt => { this.#discovered(evt.detail.id) })
  }

  /** Loads the peers DIR/peers remembers, adds the bootstrap peers, and starts dialing. */
  async start (): Promise<void> {
    const self = this.#libp2p.peerId.toString()
    const now = Date.now()
    const stored = (await this.#libp2p.peerStore.all()).filter(p => p.id.toString() !== self)
    stored.sort((a, b) => lastSeenOf(b) - lastSeenOf(a))
    let redialed = 0
    for (const [i, p] of stored.entries()) {
      const seen = lastSeenOf(p)
      // Past the bound, or a record that says nothing (no address, never seen, not added): dropped.
      if (i >= this.#maxKnown || (p.addresses.length === 0 && seen === 0 && !p.metadata.has(ADDED))) {
        await this.#libp2p.peerStore.delete(p.id).catch(() => {})
        continue
      }
      const s = this.#state(p.id.toString())
      if (seen > 0) s.lastSeen = seen
      s.added = p.metadata.has(ADDED)
      s.monoidb = p.protocols.includes(SYNC_PROTOCOL)
      if ((s.added || (s.monoidb && seen > 0 && redialed < MAX_REDIALED)) && this.#mayDial(p.id.toString(), s.added ? 'added' : 'known')) {
        if (!s.added) redialed++
        s.nextDialAt = now
      }
    }
    for (const { peerId, addr } of this.#bootstrap) {
      if (peerId.equals(this.#libp2p.peerId)) continue
      await this.#libp2p.peerStore.merge(peerId, { multiaddrs: [withoutPeerId(addr)] })
      const s = this.#state(peerId.toString())
      s.bootstrap = true
      if (this.#mayDial(peerId.toString(), 'bootstrap')) s.nextDialAt = now
    }
    this.#timer = setInterval(() => { this.#tick() }, TICK_MS)
    this.#timer.unref()
    this.#tick()
  }

  /** What the book knows of a peer (undefined: nothing beyond the peer store, if that). */
  state (peer: string): Readonly<PeerState> | undefined {
    return this.#states.get(peer)
  }

  /**
   * Every peer in the book or with addresses in the peer store (not this one), with its stored record
   * where there is one. (libp2p leaves address-less records behind, e.g. as a connection closes.)
   */
  async known (): Promise<Array<{ peerId: string, stored?: Peer }>> {
    const self = this.#libp2p.peerId.toString()
    const out = new Map<string, Peer | undefined>()
    for (const p of await this.#libp2p.peerStore.all()) {
      const id = p.id.toString()
      if (id !== self && (p.addresses.length > 0 || this.#states.has(id))) out.set(id, p)
    }
    for (const id of this.#states.keys()) if (!out.has(id)) out.set(id, undefined)
    return [...out].map(([peerId, stored]) => ({ peerId, stored }))
  }

  /**
   * Adds a peer (a multiaddr ending in /p2p/<peer id>; a bad one throws PeerAddressError) and dials it,
   * waiting for the dial. It is kept and redialed until forgotten, across restarts too.
   */
  async connect (text: string): Promise<string> {
    const { peerId, addr } = parsePeerAddress(text, 'multiaddr')
    if (peerId.equals(this.#libp2p.peerId)) throw new PeerAddressError(`multiaddr ${text} names this daemon's own peer id`)
    if (this.#allowed !== undefined && !this.#allowed.has(peerId.toString())) throw new PeerAddressError(`multiaddr ${text} names peer ${peerId.toString()}, which is not on this daemon's --allow-peer list`)
    await this.#libp2p.peerStore.merge(peerId, { multiaddrs: [withoutPeerId(addr)], metadata: { [ADDED]: new TextEncoder().encode('1') } })
    const id = peerId.toString()
    this.#forgotten.delete(id)
    const s = this.#state(id)
    s.added = true
    s.failures = 0
    s.nextDialAt = undefined
    await this.#dial(id, peerId)
    return id
  }

  /** Hangs up on the peer, removes it from the peer store and stops redialing it. False if unknown. */
  async forget (peerId: PeerId): Promise<boolean> {
    const id = peerId.toString()
    const known = this.#states.delete(id) || await this.#libp2p.peerStore.has(peerId) || this.#libp2p.getConnections(peerId).length > 0
    if (!known) return false
    this.#forgotten.delete(id)
    this.#forgotten.add(id)
    if (this.#forgotten.size > MAX_FORGOTTEN) this.#forgotten.delete(this.#forgotten.values().next().value as string)
    const i = this.#bootstrap.findIndex(b => b.peerId.equals(peerId))
    if (i >= 0) this.#bootstrap.splice(i, 1)
    await this.#libp2p.hangUp(peerId).catch(() => {})
    await this.#libp2p.peerStore.delete(peerId)
    this.#states.delete(id) // in case its disconnect recreated it
    // libp2p may write the record again as the connection winds down: delete what it left, unless the peer is back.
    setTimeout(() => {
      if (!this.#states.has(id) && this.#libp2p.getConnections(peerId).length === 0) void this.#libp2p.peerStore.delete(peerId).catch(() => {})
    }, 1_000).unref()
    this.#log.info({ peer: id }, 'peer forgotten: disconnected, removed from the peer store, no longer redialed')
    return true
  }

  /** Whether the peer was forgotten (and not added or connected since): it is not to be dialed. */
  isForgotten (peer: string): boolean {
    return this.#forgotten.has(peer)
  }

  /** Stops dialing and records when connected peers were last seen (now). */
  async stop (): Promise<void> {
    this.#stopped = true
    clearInterval(this.#timer)
    const now = Date.now()
    await Promise.all([...this.#states].filter(([, s]) => s.connectedSince !== undefined).map(async ([id, s]) => {
      s.lastSeen = now
      await this.#persistSeen(id, now)
    }))
  }

  /** Closes DIR/peers; after libp2p stopped. */
  async close (): Promise<void> {
    await this.#datastore?.close()
  }

  #state (id: string): PeerState {
    let s = this.#states.get(id)
    if (s === undefined) {
      if (this.#states.size >= this.#maxKnown) this.#evict()
      s = { failures: 0, dialing: false, bootstrap: false, added: false, monoidb: false }
      this.#states.set(id, s)
    }
    return s
  }

  /** Drops the least recently seen peer that is neither connected, bootstrap nor added, here and in DIR/peers. */
  #evict (): void {
    let oldest: [string, number] | undefined
    for (const [id, s] of this.#states) {
      if (s.connectedSince !== undefined || s.bootstrap || s.added || s.dialing) continue
      if (oldest === undefined || (s.lastSeen ?? 0) < oldest[1]) oldest = [id, s.lastSeen ?? 0]
    }
    if (oldest === undefined) return
    this.#states.delete(oldest[0])
    const peer = this.#libp2p.getPeers().find(p => p.toString() === oldest[0])
    if (peer === undefined) void this.#deleteStored(oldest[0])
  }

  async #deleteStored (id: string): Promise<void> {
    await this.#libp2p.peerStore.delete(peerIdFromString(id)).catch(() => {})
  }

  #connected (peer: PeerId): void {
    if (this.#stopped) return
    const id = peer.toString()
    const now = Date.now()
    // A dial of ours that was under way when the peer was forgotten: hang up. Only the peer dialing us makes it known again.
    if (this.#forgotten.has(id) && this.#libp2p.getConnections(peer).every(c => c.direction === 'outbound')) {
      void this.#libp2p.hangUp(peer).catch(() => {})
      return
    }
    this.#forgotten.delete(id)
    const s = this.#state(id)
    s.connectedSince = now
    s.lastSeen = now
    s.failures = 0
    s.nextDialAt = undefined
    const addrs = this.#libp2p.getConnections(peer).map(c => c.remoteAddr.toString())
    this.#log.info({ peer: id, addrs }, 'peer connected')
    void this.#persistSeen(id, now)
  }

  /** Found by mDNS (only monoidb peers answer our service name): dialed now, redialed like a peer we knew. */
  #discovered (peer: PeerId): void {
    const id = peer.toString()
    if (this.#stopped || peer.equals(this.#libp2p.peerId) || this.#forgotten.has(id) || this.#libp2p.getConnections(peer).length > 0) return
    if (!this.#mayDial(id, 'discovered')) return
    const s = this.#state(id)
    s.monoidb = true
    if (s.nextDialAt === undefined && !s.dialing) s.nextDialAt = Date.now()
  }

  #disconnected (peer: PeerId): void {
    const id = peer.toString()
    const s = this.#states.get(id)
    if (s === undefined || this.#stopped) return
    const now = Date.now()
    s.connectedSince = undefined
    s.lastSeen = now
    if (this.#redialed(s)) {
      s.failures = 0
      s.nextDialAt = now + this.#first
    }
    this.#log.info({ peer: id, redialInMs: s.nextDialAt === undefined ? null : s.nextDialAt - now }, 'peer disconnected')
    void this.#persistSeen(id, now)
  }

  #updated (peer: Peer, previous: Peer | undefined): void {
    const id = peer.id.toString()
    if (previous === undefined || !this.#states.has(id)) return
    const plain = (p: Peer): string[] => [...new Set(p.addresses.map(a => withoutPeerId(a.multiaddr).toString()))].sort()
    const now = plain(peer)
    const was = plain(previous)
    // Only a change: the first addresses learned of a peer are no news.
    if (now.length === 0 || was.length === 0 || now.join(' ') === was.join(' ')) return
    this.#log.info({ peer: id, multiaddrs: now, previous: was }, 'peer addresses changed')
  }

  /** Whether the allow list (if any) lets us dial `id`; a peer it does not is logged, once. */
  #mayDial (id: string, what: string): boolean {
    if (this.#allowed === undefined || this.#allowed.has(id)) return true
    if (!this.#notAllowedLogged.has(id) && this.#notAllowedLogged.size < MAX_FORGOTTEN) {
      this.#notAllowedLogged.add(id)
      this.#log.warn({ peer: id, source: what }, 'peer not on the --allow-peer list: not dialed')
    }
    return false
  }

  #redialed (s: PeerState): boolean {
    return s.bootstrap || s.added || s.monoidb
  }

  #tick (): void {
    if (this.#stopped) return
    const now = Date.now()
    if (now - this.#persistedAt >= PERSIST_SEEN_MS) {
      this.#persistedAt = now
      for (const [id, s] of this.#states) if (s.connectedSince !== undefined) { s.lastSeen = now; void this.#persistSeen(id, now) }
    }
    for (const [id, s] of this.#states) {
      if (this.#inFlight >= MAX_PARALLEL_DIALS) return
      if (s.nextDialAt === undefined || s.nextDialAt > now || s.dialing) continue
      s.nextDialAt = undefined
      const peerId = this.#libp2p.getPeers().find(p => p.toString() === id)
      if (peerId !== undefined) continue // connected meanwhile
      void this.#dial(id)
    }
  }

  /** Dials the peer at its stored addresses; on failure records, logs and schedules the next try. */
  async #dial (id: string, peerId?: PeerId): Promise<void> {
    const s = this.#states.get(id)
    if (s === undefined || s.dialing) return
    s.dialing = true
    this.#inFlight++
    try {
      const target = peerId ?? peerIdFromString(id)
      const signal = AbortSignal.timeout(DIAL_TIMEOUT_MS)
      try {
        await this.#libp2p.dial(target, { signal })
      } catch (err) {
        // libp2p joins a dial of the same peer already queued: one queued while the peer was forgotten is denied.
        if ((err as Error).name !== 'DialDeniedError' || this.#forgotten.has(id)) throw err
        await this.#libp2p.dial(target, { signal })
      }
    } catch (err) {
      // Stopped, forgotten, or connected meanwhile (it dialed us): nothing failed that matters.
      if (this.#stopped || this.#states.get(id) !== s || s.connectedSince !== undefined) return
      const now = Date.now()
      s.failures++
      s.lastDialError = { at: now, message: dialErrorText(err) }
      const giveUp = !s.bootstrap && !s.added && s.failures >= GIVE_UP_AFTER
      s.nextDialAt = giveUp ? undefined : now + this.#backoff(s.failures)
      const fields = { peer: id, bootstrap: s.bootstrap, failures: s.failures, error: s.lastDialError.message, retryInMs: giveUp ? null : s.nextDialAt! - now }
      this.#log.info(fields, giveUp ? `dial failed ${s.failures} times in a row: no longer redialing this peer (it is redialed again once it connects, or with monoidb connect)` : 'dial failed')
    } finally {
      s.dialing = false
      this.#inFlight--
    }
  }

  #backoff (failures: number): number {
    return Math.round(Math.min(this.#max, this.#first * 2 ** (failures - 1)) * (0.8 + 0.4 * Math.random()))
  }

  async #persistSeen (id: string, at: number): Promise<void> {
    await this.#libp2p.peerStore.merge(peerIdFromString(id), { metadata: { [LAST_SEEN]: new TextEncoder().encode(String(at)) } }).catch(() => {})
  }
}

/** A dial error in one line: libp2p's aggregate of per-address failures names each. */
function dialErrorText (err: unknown): string {
  const e = err as Error & { errors?: unknown[] }
  const inner = Array.isArray(e.errors) && e.errors.length > 0 ? `: ${e.errors.map(x => (x as Error).message ?? String(x)).join('; ')}` : ''
  return `${e.name ?? 'Error'}: ${e.message ?? String(err)}${inner}`.replace(/\s+/g, ' ').slice(0, 400)
}
