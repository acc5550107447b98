/**
 * The direct stream protocol `/monoidb/sync/1.0.0`: it carries the engine's
 * `send` actions (session messages and digests to one peer).
 *
 * Framing: each message is one frame, an unsigned-varint length followed by
 * that many bytes (libp2p's usual length prefix). A frame announcing more than
 * MAX_WIRE_BYTES is refused from its length alone, before any of it is read,
 * and the stream is reset.
 *
 * Streams: one long-lived stream per peer and direction. We write only on the
 * stream we opened and read only on streams the peer opened, so neither side
 * waits for the other, and no message pays a protocol negotiation after the
 * first. A write that fails drops its message (sends are best effort: the
 * engine retransmits) and the next one opens a fresh stream. A reader processes
 * one frame at a time and pauses the stream meanwhile, so a fast sender is held
 * back by yamux flow control instead of filling our memory.
 */
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
const MAX_INBOUND_STREAMS = 4
/** Read buffer: a whole frame of the largest size, twice over. */
const READ_BUFFER_BYTES = 2 * MAX_WIRE_BYTES + 64

export interface StreamStats {
  /** Frames received and handed on. */
  framesReceived: number
  /** Inbound streams reset for a bad frame: over MAX_WIRE_BYTES, or a malformed length prefix. */
  framesRefused: number
  /** Messages not sent: queue full, dial or write failed. */
  sendsDropped: number
}

export type FrameHandler = (peer: string, bytes: Uint8Array) => Promise<void>

export class SyncStreams {
  readonly #libp2p: Libp2p
  readonly #onFrame: FrameHandler
  readonly #writers = new Map<string, PeerWriter>()
  readonly #inbound = new Set<Stream>()
  readonly #stats: StreamStats = { framesReceived: 0, framesRefused: 0, sendsDropped: 0 }
  #stopped = false

  constructor (libp2p: Libp2p, onFrame: FrameHandler) {
    this.#libp2p = libp2p
    this.#onFrame = onFrame
  }

  /** Registers the protocol handler; call before libp2p starts accepting connections. */
  async start (): Promise<void> {
    await this.#libp2p.handle(SYNC_PROTOCOL, (stream, connection) => this.#read(stream, connection), { maxInboundStreams: MAX_INBOUND_STREAMS })
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
    for (const s of this.#inbound) s.abort(new Error('monoidb node stopping'))
    await this.#libp2p.unhandle(SYNC_PROTOCOL).catch(() => {})
  }

  async #read (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const lp = lpStream(stream, { maxDataLength: MAX_WIRE_BYTES, maxBufferSize: READ_BUFFER_BYTES })
    this.#inbound.add(stream)
    try {
      while (!this.#stopped) {
        const frame = await lp.read()
        this.#stats.framesReceived++
        if (stream.readStatus === 'readable') stream.pause()
        await this.#onFrame(peer, frame.subarray())
        if (stream.readStatus === 'paused') stream.resume()
      }
    } catch (err) {
      const code = (err as { code?: string }).code
      const name = (err as Error).name
      const bad = code === 'ERR_MSG_DATA_TOO_LONG' || code === 'ERR_MSG_LENGTH_TOO_LONG' || name === 'InvalidMessageLengthError'
      if (bad) this.#stats.framesRefused++
      if (stream.status === 'open') stream.abort(err as Error)
    } finally {
      this.#inbound.delete(stream)
    }
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
