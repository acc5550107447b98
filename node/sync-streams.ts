/**
 * The direct stream protocol `/monoidb/sync/1.0.0`: it carries the engine's
 * `send` actions (session messages and digests to one peer).
 *
 * Framing: each message is one frame, an unsigned-varint length followed by
 * that many bytes (libp2p's usual length prefix). A frame announcing more than
 * MAX_WIRE_BYTES is refused from its length alone, before any of it is read;
 * so is a length prefix longer than MAX_WIRE_BYTES needs (3 bytes) or not in
 * its shortest form; and a frame the engine finds is no message. Each such bad
 * frame is counted against its sender and its stream is reset; a peer that
 * sends MAX_STRIKES of them within STRIKE_WINDOW_MS has its streams refused
 * for BAN_MS, and the host hangs up on it and refuses its connections
 * meanwhile (node/libp2p-host.ts, `onBan`).
 *
 * Streams: one long-lived stream per peer and direction. We write only on the
 * stream we opened and read only on streams the peer opened, so neither side
 * waits for the other, and no message pays a protocol negotiation after the
 * first. A write that fails drops its message (sends are best effort: the
 * engine retransmits) and the next one opens a fresh stream. A reader processes
 * one frame at a time and pauses the stream meanwhile, so a fast sender is held
 * back by yamux flow control instead of filling our memory.
 */
import { createHash } from 'node:crypto'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils'
import { MAX_WIRE_BYTES } from '../core/sync/messages.ts'

export const SYNC_PROTOCOL = '/monoidb/sync/1.0.0'

/** Bytes waiting to be written to one peer; past this, new messages to it are dropped. */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024
const DIAL_TIMEOUT_MS = 5_000
const WRITE_TIMEOUT_MS = 10_000
/** Streams a peer may have open to us at once: one in use, a few being replaced. */
export const MAX_INBOUND_STREAMS = 4
/** Read buffer: a whole frame of the largest size, twice over. */
const READ_BUFFER_BYTES = 2 * MAX_WIRE_BYTES + 64
/** Bytes of the longest length prefix: that of MAX_WIRE_BYTES (7 bits a byte). */
export const MAX_LENGTH_BYTES = Math.ceil(Math.log2(MAX_WIRE_BYTES + 1) / 7)
/** Bad frames from one peer within STRIKE_WINDOW_MS after which its streams are refused for BAN_MS. */
export const MAX_STRIKES = 3
export const STRIKE_WINDOW_MS = 60_000
export const BAN_MS = 30_000
/**
 * Frames at least this large that were refused are remembered by hash (the last REFUSED_FRAMES of them):
 * the same bytes again are refused unread. Decoding and validating a large frame is what costs (up to a
 * few hundred ms at 1 MiB), and replaying one costs its sender nothing.
 */
const REMEMBER_REFUSED_BYTES = 16 * 1024
const REFUSED_FRAMES = 256
/** A ban within this many ban lengths of the last one's end lasts twice as long as it, up to 2^MAX_BAN_DOUBLINGS bans' length. */
export const REPEAT_BANS = 10
export const MAX_BAN_DOUBLINGS = 5
/** Peers whose strikes are remembered; past this the oldest are forgotten. */
const MAX_STRUCK_PEERS = 1024

/** A length prefix that is too long or not in its shortest form. */
export class BadLengthPrefixError extends Error {
  readonly code = 'ERR_BAD_LENGTH_PREFIX'
}

/**
 * Reads an unsigned LEB128 length from the bytes read so far. Incomplete: a RangeError (lpStream reads
 * another byte). Past MAX_LENGTH_BYTES, or with a needless zero last byte: BadLengthPrefixError. (The
 * usual decoder waits for more bytes forever once a prefix passes 8 bytes, leaving the stream open.)
 */
export function decodeLength (buf: { byteLength: number, get: (i: number) => number } | Uint8Array): number {
  let value = 0
  for (let i = 0; i < buf.byteLength; i++) {
    const b = buf instanceof Uint8Array ? buf[i] : buf.get(i)
    value += (b & 0x7f) * 2 ** (7 * i)
    if (b < 0x80) {
      if (b === 0 && i > 0) throw new BadLengthPrefixError(`a length prefix of ${i + 1} bytes ends in a zero byte (not its shortest form)`)
      return value
    }
    if (i + 1 >= MAX_LENGTH_BYTES) throw new BadLengthPrefixError(`a length prefix longer than ${MAX_LENGTH_BYTES} bytes`)
  }
  throw new RangeError('length prefix incomplete')
}

export interface StreamStats {
  /** Frames received and handed on. */
  framesReceived: number
  /** Bad frames (over MAX_WIRE_BYTES, a malformed length prefix, or no message): each reset its stream. */
  framesRefused: number
  /** Inbound streams refused at once: their peer sent MAX_STRIKES bad frames lately. */
  streamsRefused: number
  /** Messages not sent: queue full, dial or write failed. */
  sendsDropped: number
}

/** A peer's recent bad frames, and its bans. */
interface Strikes { count: number, since: number, bannedUntil: number, bans: number }

/** The stream limits (node/peer-limit-options.ts makes them configurable); each defaults to the constant above. */
export interface StreamLimits {
  /** Streams one peer may have open to us at once (MAX_INBOUND_STREAMS). */
  maxInboundStreams?: number
  /** Bad frames within strikeWindowMs after which the peer is banned (MAX_STRIKES, STRIKE_WINDOW_MS). */
  maxStrikes?: number
  strikeWindowMs?: number
  /** How long a ban lasts (BAN_MS). */
  banMs?: number
  /** Told of each ban as it starts (the host hangs up on the peer and refuses its connections until `until`). */
  onBan?: (peer: string, until: number) => void
}

/** Takes a frame; resolves to false if it was no message (the frame is then refused, as a bad frame). */
export type FrameHandler = (peer: string, bytes: Uint8Array) => Promise<boolean | undefined | void>

export class SyncStreams {
  readonly #libp2p: Libp2p
  readonly #onFrame: FrameHandler
  readonly #writers = new Map<string, PeerWriter>()
  /** Open inbound streams, by their peer. */
  readonly #inbound = new Map<Stream, string>()
  readonly #stats: StreamStats = { framesReceived: 0, framesRefused: 0, streamsRefused: 0, sendsDropped: 0 }
  /** Peers' recent bad frames, and until when their streams are refused (least recently struck first). */
  readonly #strikes = new Map<string, Strikes>()
  readonly #onBadFrame: (peer: string) => void
  /** Hashes of large frames refused lately (oldest first). */
  readonly #refusedFrames = new Set<string>()
  readonly #limits: Required<Omit<StreamLimits, 'onBan'>> & Pick<StreamLimits, 'onBan'>
  #stopped = false

  /** `onBadFrame`: told of each bad frame the engine did not see (framing), e.g. to lower the peer's score. */
  constructor (libp2p: Libp2p, onFrame: FrameHandler, onBadFrame: (peer: string) => void = () => {}, limits: StreamLimits = {}) {
    this.#libp2p = libp2p
    this.#onFrame = onFrame
    this.#onBadFrame = onBadFrame
    this.#limits = {
      maxInboundStreams: limits.maxInboundStreams ?? MAX_INBOUND_STREAMS,
      maxStrikes: limits.maxStrikes ?? MAX_STRIKES,
      strikeWindowMs: limits.strikeWindowMs ?? STRIKE_WINDOW_MS,
      banMs: limits.banMs ?? BAN_MS,
      onBan: limits.onBan
    }
  }

  /** Registers the protocol handler; call before libp2p starts accepting connections. */
  async start (): Promise<void> {
    await this.#libp2p.handle(SYNC_PROTOCOL, (stream, connection) => this.#read(stream, connection), { maxInboundStreams: this.#limits.maxInboundStreams })
  }

  /** Queues `bytes` for `peer`. Never throws: a message that cannot be sent is counted and dropped. */
  send (peer: string, bytes: Uint8Array): void {
    if (this.#stopped) return
    let writer = this.#writers.get(peer)
    if (writer === undefined) {
      let id: PeerId
      try {
        id = peerIdFromString(peer)
      } catch {
        this.#stats.sendsDropped++
        return
      }
      writer = new PeerWriter(this.#libp2p, id, this.#stats)
      this.#writers.set(peer, writer)
    }
    writer.enqueue(bytes)
  }

  /** The peer disconnected: forget its writer (queued messages are dropped). */
  closePeer (peer: string): void {
    this.#writers.get(peer)?.close()
    this.#writers.delete(peer)
  }

  stats (): StreamStats {
    return { ...this.#stats }
  }

  /** Waits (at most `ms`) for queued messages to be written, then closes every stream. */
  async stop (ms = 2_000): Promise<void> {
    const deadline = AbortSignal.timeout(ms)
    await Promise.all([...this.#writers.values()].map(async w => await w.drained(deadline)))
    this.#stopped = true
    for (const w of this.#writers.values()) w.close()
    this.#writers.clear()
    for (const s of this.#inbound.keys()) s.abort(new Error('monoidb node stopping'))
    await this.#libp2p.unhandle(SYNC_PROTOCOL).catch(() => {})
  }

  /** Whether the peer is banned now (it sent maxStrikes bad frames within strikeWindowMs): its streams and connections are refused. */
  banned (peer: string, now = Date.now()): boolean {
    return (this.#strikes.get(peer)?.bannedUntil ?? 0) > now
  }

  async #read (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    if (this.banned(peer)) {
      this.#stats.streamsRefused++
      stream.abort(new Error('monoidb sync: streams from this peer are refused for a while (bad frames)'))
      return
    }
    const lp = lpStream(stream, { maxDataLength: MAX_WIRE_BYTES, maxBufferSize: READ_BUFFER_BYTES, lengthDecoder: decodeLength })
    this.#inbound.set(stream, peer)
    try {
      while (!this.#stopped) {
        const frame = await lp.read()
        this.#stats.framesReceived++
        if (stream.readStatus === 'readable') stream.pause()
        const bytes = frame.subarray()
        const hash = bytes.length >= REMEMBER_REFUSED_BYTES ? createHash('sha256').update(bytes).digest('base64') : undefined
        if (hash !== undefined && this.#refusedFrames.has(hash)) {
          this.#onBadFrame(peer)
          this.#refuse(peer, stream, new Error('monoidb sync: a frame refused before, sent again'))
          return
        }
        // A large frame is handled in an event-loop turn of its own (decoding one costs up to a few hundred ms at 1 MiB).
        if (hash !== undefined) await new Promise(resolve => setImmediate(resolve))
        if (await this.#onFrame(peer, bytes) === false) {
          if (hash !== undefined) {
            this.#refusedFrames.add(hash)
            if (this.#refusedFrames.size > REFUSED_FRAMES) this.#refusedFrames.delete(this.#refusedFrames.values().next().value as string)
          }
          this.#refuse(peer, stream, new Error('monoidb sync: a frame that is no message'))
          return
        }
        if (stream.readStatus === 'paused') stream.resume()
      }
    } catch (err) {
      const code = (err as { code?: string }).code
      const name = (err as Error).name
      const bad = code === 'ERR_MSG_DATA_TOO_LONG' || code === 'ERR_MSG_LENGTH_TOO_LONG' || code === 'ERR_BAD_LENGTH_PREFIX' || name === 'InvalidMessageLengthError'
      if (bad) {
        this.#onBadFrame(peer)
        this.#refuse(peer, stream, err as Error)
      } else if (stream.status === 'open') {
        stream.abort(err as Error)
      }
    } finally {
      this.#inbound.delete(stream)
    }
  }

  /** Counts a bad frame against the peer and resets its stream; at MAX_STRIKES, resets all its streams and refuses new ones for BAN_MS. */
  #refuse (peer: string, stream: Stream, err: Error): void {
    this.#stats.framesRefused++
    if (stream.status === 'open') stream.abort(err)
    const now = Date.now()
    let s = this.#strikes.get(peer)
    this.#strikes.delete(peer)
    if (s === undefined || now - s.since > this.#limits.strikeWindowMs) s = { count: 0, since: now, bannedUntil: s?.bannedUntil ?? 0, bans: s?.bans ?? 0 }
    s.count++
    this.#strikes.set(peer, s)
    if (this.#strikes.size > MAX_STRUCK_PEERS) this.#strikes.delete(this.#strikes.keys().next().value as string)
    if (s.count < this.#limits.maxStrikes) return
    this.#banNow(peer, s, now, 'monoidb sync: too many bad frames')
  }

  /**
   * Bans the peer: its streams are reset and the host told. A ban that follows the last one within
   * REPEAT_BANS × banMs of its end lasts twice as long as that one, up to MAX_BAN_DOUBLINGS doublings: a
   * peer that floods again as soon as it is let back spends most of its time refused.
   */
  #banNow (peer: string, s: Strikes, now: number, why: string): void {
    s.bans = now - s.bannedUntil < REPEAT_BANS * this.#limits.banMs ? s.bans + 1 : 1
    s.bannedUntil = now + this.#limits.banMs * 2 ** Math.min(s.bans - 1, MAX_BAN_DOUBLINGS)
    s.count = 0
    s.since = now
    for (const [other, p] of this.#inbound) if (p === peer && other.status === 'open') other.abort(new Error(why))
    try { this.#limits.onBan?.(peer, s.bannedUntil) } catch { /* the listener must not break the caller */ }
  }

  /** Bans the peer now (its other misbehaviour went past a limit): as MAX_STRIKES bad frames would. */
  ban (peer: string): void {
    if (this.banned(peer)) return
    const now = Date.now()
    const s = this.#strikes.get(peer) ?? { count: 0, since: now, bannedUntil: 0, bans: 0 }
    this.#strikes.delete(peer)
    this.#strikes.set(peer, s)
    if (this.#strikes.size > MAX_STRUCK_PEERS) this.#strikes.delete(this.#strikes.keys().next().value as string)
    this.#banNow(peer, s, now, 'monoidb sync: banned')
  }

  /** Peers banned now, with when each ban ends. */
  bans (now = Date.now()): Array<{ peer: string, until: number }> {
    return [...this.#strikes].filter(([, s]) => s.bannedUntil > now).map(([peer, s]) => ({ peer, until: s.bannedUntil }))
  }
}

/** The messages queued for one peer, written in order over one stream we opened. */
class PeerWriter {
  readonly #libp2p: Libp2p
  readonly #peer: PeerId
  readonly #stats: StreamStats
  readonly #queue: Uint8Array[] = []
  #queuedBytes = 0
  #stream: { raw: Stream, lp: LengthPrefixedStream<Stream> } | undefined
  #running: Promise<void> | undefined
  #closed = false

  constructor (libp2p: Libp2p, peer: PeerId, stats: StreamStats) {
    this.#libp2p = libp2p
    this.#peer = peer
    this.#stats = stats
  }

  enqueue (bytes: Uint8Array): void {
    if (this.#closed || this.#queuedBytes + bytes.length > MAX_QUEUED_BYTES) {
      this.#stats.sendsDropped++
      return
    }
    this.#queue.push(bytes)
    this.#queuedBytes += bytes.length
    this.#running ??= this.#drain().finally(() => { this.#running = undefined })
  }

  /** Resolves when the queue is empty, or when `signal` aborts. */
  async drained (signal: AbortSignal): Promise<void> {
    if (this.#running === undefined || signal.aborted) return
    await new Promise<void>(resolve => {
      signal.addEventListener('abort', () => { resolve() }, { once: true })
      void this.#running?.then(resolve)
    })
  }

  close (): void {
    this.#closed = true
    this.#queue.length = 0
    this.#queuedBytes = 0
    const s = this.#stream?.raw
    this.#stream = undefined
    s?.close().catch(() => { s.abort(new Error('closing')) })
  }

  async #drain (): Promise<void> {
    while (this.#queue.length > 0 && !this.#closed) {
      const bytes = this.#queue.shift() as Uint8Array
      this.#queuedBytes -= bytes.length
      try {
        const lp = await this.#open()
        await lp.write(bytes, { signal: AbortSignal.timeout(WRITE_TIMEOUT_MS) })
      } catch (err) {
        this.#stats.sendsDropped++
        const s = this.#stream?.raw
        this.#stream = undefined
        if (s !== undefined && s.status === 'open') s.abort(err as Error)
      }
    }
  }

  async #open (): Promise<LengthPrefixedStream<Stream>> {
    const current = this.#stream
    if (current !== undefined && current.raw.status === 'open' && current.raw.writeStatus === 'writable') return current.lp
    const raw = await this.#libp2p.dialProtocol(this.#peer, SYNC_PROTOCOL, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
    // We never read this stream: the peer answers on a stream of its own.
    await raw.closeRead().catch(() => {})
    this.#stream = { raw, lp: lpStream(raw) }
    return this.#stream.lp
  }
}
