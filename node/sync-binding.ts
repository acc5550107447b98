/**
 * Drives one SyncEngine from real events. The engine is sans-I/O and not
 * re-entrant, so every call into it goes through one queue: one event at a
 * time, each awaited before the next starts. Actions it returns are handed to
 * the transport at once (publish on gossip, send on the direct stream); neither
 * blocks the queue. A timer sleeps until `engine.nextWakeup()` and then ticks
 * the engine with the wall clock.
 *
 * Nothing a peer sends can crash the process: the engine counts bad input, and
 * anything that still throws (a store error, say) is reported to `onError` and
 * the queue goes on.
 */
import type { Plain } from '../core/codec.ts'
import type { SyncEngine } from '../core/sync/engine.ts'
import type { Misbehaviour } from '../core/sync/peer-budget.ts'
import type { SyncAction } from '../core/sync/types.ts'
import type { BoundRef } from '../core/subscription.ts'

/** Where the engine's actions go. Both are best effort and must not throw. */
export interface SyncTransport {
  publish (topic: string, bytes: Uint8Array): void
  send (peer: string, bytes: Uint8Array): void
  /** Whether some peer hears `heard` and not `topic` (then a publish's `legacy` form is published too); absent: never. */
  lacksTopic? (topic: string, heard: string): boolean
  /** The engine refused a peer's request for its limits, or got bytes from it that are no message: lower its standing. */
  misbehaved? (peer: string, what: Misbehaviour): void
}

export interface SyncBindingOptions {
  /** Called with anything that went wrong inside the queue (default: ignored). */
  onError?: (err: unknown) => void
  /** Events waiting in the queue beyond which gossip from peers is dropped (default 10,000). */
  maxQueued?: number
}

export interface BindingStats {
  /** Peer messages dropped because the queue was full. */
  inboundDropped: number
  /** Errors raised inside the queue. */
  errors: number
}

type EngineCall = (now: number) => SyncAction[] | Promise<SyncAction[]>

export class SyncBinding {
  readonly #engine: SyncEngine
  readonly #transport: SyncTransport
  readonly #options: SyncBindingOptions
  readonly #maxQueued: number
  readonly #stats: BindingStats = { inboundDropped: 0, errors: 0 }
  #tail: Promise<void> = Promise.resolve()
  #queued = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  #timerAt = Infinity
  #stopped = false
  /** The peer whose bytes the engine is handling now, and whether it found them no message. */
  #receiving: { from: string, bad: boolean } | undefined

  constructor (engine: SyncEngine, transport: SyncTransport, options: SyncBindingOptions) {
    this.#engine = engine
    this.#transport = transport
    this.#options = options
    this.#maxQueued = options.maxQueued ?? 10_000
  }

  /** Starts the timer (the first digest is due within one anti-entropy period). */
  start (): void {
    this.#schedule()
  }

  /** A committed local update (`write`: its id), to be pushed when the push window closes. */
  async localUpdate (key: string, contract: BoundRef, delta: Plain, write?: string): Promise<void> {
    await this.#run(now => this.#engine.localUpdate(key, contract, delta, now, write))
  }

  /**
   * Bytes from a peer (gossip or stream). Dropped, and counted, if the queue is full. Resolves to false
   * if the engine found them no message (the stream that carried them is then reset).
   */
  async receive (from: string, bytes: Uint8Array): Promise<boolean> {
    if (this.#queued >= this.#maxQueued) {
      this.#stats.inboundDropped++
      return true
    }
    let bad = false
    await this.#run(async now => {
      const receiving = this.#receiving = { from, bad: false }
      try {
        return await this.#engine.receive(from, bytes, now)
      } finally {
        bad = receiving.bad
        this.#receiving = undefined
      }
    })
    return !bad
  }

  /** The engine's report of a misbehaving peer (SyncOptions.onMisbehaviour), passed on to the transport. */
  misbehaved (peer: string, what: Misbehaviour): void {
    if (what === 'bad_message' && this.#receiving?.from === peer) this.#receiving.bad = true
    try { this.#transport.misbehaved?.(peer, what) } catch { /* the transport must not stop the engine */ }
  }

  async peerJoined (peer: string): Promise<void> {
    await this.#run(now => this.#engine.peerJoined(peer, now))
  }

  async peerLeft (peer: string): Promise<void> {
    await this.#run(now => this.#engine.peerLeft(peer, now))
  }

  async subscribed (key: string): Promise<void> {
    await this.#run(now => this.#engine.subscribed(key, now))
  }

  stats (): BindingStats {
    return { ...this.#stats }
  }

  /** Sends the pushes waiting for their window now. */
  async flush (): Promise<void> {
    await this.#run(async now => await this.#engine.flush(now))
  }

  /** Stops the timer, lets queued events finish, and detaches the engine from the store. */
  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    clearTimeout(this.#timer)
    await this.#tail
    this.#engine.close()
  }

  /** Queues one engine call; resolves when it has run and its actions are handed on. Never rejects. */
  #run (call: EngineCall): Promise<void> {
    if (this.#stopped) return Promise.resolve()
    this.#queued++
    const done = this.#tail.then(async () => {
      this.#dispatch(await call(Date.now()))
    }).catch(err => {
      this.#stats.errors++
      try { this.#options.onError?.(err) } catch { /* the reporter must not stop the queue */ }
    }).finally(() => {
      this.#queued--
      this.#schedule()
    })
    this.#tail = done
    return done
  }

  #dispatch (actions: readonly SyncAction[]): void {
    for (const a of actions) {
      if (a.type === 'publish') {
        this.#transport.publish(a.topic, a.bytes)
        // Peers before a message type never subscribe to its topic: they get the type they know.
        if (a.legacy !== undefined && this.#transport.lacksTopic?.(a.topic, a.legacy.topic) === true) this.#transport.publish(a.legacy.topic, a.legacy.bytes())
      } else if (a.type === 'relay') {
        if (this.#transport.lacksTopic?.(a.lacking, a.topic) === true) this.#transport.publish(a.topic, a.bytes)
      } else this.#transport.send(a.to, a.bytes)
    }
  }

  /** Arms the timer for the engine's next wakeup, unless it is already armed for that time or sooner. */
  #schedule (): void {
    if (this.#stopped) return
    const at = this.#engine.nextWakeup()
    if (at === undefined || !Number.isFinite(at)) return
    if (this.#timer !== undefined && this.#timerAt <= at) return
    clearTimeout(this.#timer)
    this.#timerAt = at
    this.#arm(at)
  }

  #arm (at: number): void {
    // At least 1 ms: a wakeup the engine keeps in the past must not spin the event loop.
    this.#timer = setTimeout(() => {
      // Timers may fire a millisecond early by the wall clock: never tick before the wakeup.
      if (Date.now() < at) { this.#arm(at); return }
      this.#timer = undefined
      this.#timerAt = Infinity
      void this.#run(async now => await this.#engine.tick(now))
    }, Math.max(1, at - Date.now()))
  }
}
