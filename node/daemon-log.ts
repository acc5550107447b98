/**
 * The daemon's structured log (README "Logs"): pino, JSON lines on stdout, or readable lines (pino-pretty)
 * when stdout is a terminal. Writes are synchronous, so nothing logged before an exit is lost.
 *
 * `logJournal` turns sync journal records into log lines: at info, refusals and sessions that repaired
 * something; at debug, every delta merged or written, with its key and write ids, so one write can be
 * followed through several peers' logs with grep (`grep 'r1a2b/7'`).
 */
import { pino, type Logger as PinoLogger } from 'pino'
import pretty from 'pino-pretty'
import type { Journal, JournalRecord } from '../core/sync/journal.ts'
import { DEFAULT_LOG_LEVEL, type LogLevel } from './log-levels.ts'
import type { Logger } from './logger.ts'

export { DEFAULT_LOG_LEVEL, LOG_LEVELS, type LogLevel, isLogLevel } from './log-levels.ts'

export interface DaemonLogOptions {
  level?: LogLevel
  /** Readable lines instead of JSON; default: when stdout is a terminal. */
  pretty?: boolean
  /** Where lines go (tests); default stdout (fd 1). */
  destination?: NodeJS.WritableStream
}

export function createDaemonLogger (options: DaemonLogOptions = {}): PinoLogger {
  const level = options.level ?? DEFAULT_LOG_LEVEL
  const opts = {
    level,
    base: { pid: process.pid },
    // Nothing the daemon logs holds the API token; should a field named token ever appear, it is hidden.
    redact: { paths: ['token', '*.token', 'authorization', '*.authorization'], censor: '[hidden]' }
  }
  const readable = options.pretty ?? process.stdout.isTTY === true
  if (readable) return pino(opts, pretty({ colorize: true, sync: true, destination: options.destination ?? 1, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }))
  return pino(opts, options.destination ?? pino.destination({ fd: 1, sync: true }))
}

/** A Logger that can say whether a level is on (pino's can): records logged only at debug then cost nothing at info. */
export type LevelAwareLogger = Logger & { isLevelEnabled?: (level: string) => boolean }

/** Logs the journal's records from now on (see the file comment); returns the function that stops it. */
export function logJournal (journal: Journal, log: LevelAwareLogger, now: () => number = Date.now): () => void {
  const refusals = new RefusalLogLimit()
  return journal.subscribe(r => {
    if (r.kind === 'refused' && !refusals.allow(r.peer, now(), log)) return
    logRecord(r, log)
  })
}

/** Refusal lines logged per peer per window; past that they are counted and summed up in one line. */
export const REFUSALS_LOGGED_PER_PEER = 20
export const REFUSAL_LOG_WINDOW_MS = 60_000
export const REFUSALS_LOGGED_IN_ALL = 200
const MAX_LIMITED_PEERS = 1024

/**
 * A peer decides how often we refuse its data: without a bound, one that sends garbage as fast as we read
 * it would fill the disk with log lines. Each peer gets REFUSALS_LOGGED_PER_PEER lines a window; the rest
 * are counted (the journal and /metrics still have every one) and reported in one line when the peer's
 * next window opens.
 */
export class RefusalLogLimit {
  readonly #peers = new Map<string, { since: number, logged: number, dropped: number }>()
  /** Peer ids cost nothing to make: all peers together get REFUSALS_LOGGED_IN_ALL lines a window. */
  #all = { since: -Infinity, logged: 0, dropped: 0 }

  allow (peer: string, now: number, log: Logger): boolean {
    if (now - this.#all.since >= REFUSAL_LOG_WINDOW_MS) {
      if (this.#all.dropped > 0) log.info({ event: 'refused-suppressed', peer: '*', count: this.#all.dropped }, `${this.#all.dropped} more refusals of data were not logged (at most ${REFUSALS_LOGGED_IN_ALL} a minute from all peers; the journal has them)`)
      this.#all = { since: now, logged: 0, dropped: 0 }
    }
    if (this.#all.logged >= REFUSALS_LOGGED_IN_ALL) { this.#all.dropped++; return false }
    if (!this.#allowPeer(peer, now, log)) return false
    this.#all.logged++
    return true
  }

  #allowPeer (peer: string, now: number, log: Logger): boolean {
    let w = this.#peers.get(peer)
    if (w !== undefined && now - w.since >= REFUSAL_LOG_WINDOW_MS) {
      if (w.dropped > 0) log.info({ event: 'refused-suppressed', peer, count: w.dropped }, `${w.dropped} more refusals of data from ${peer} were not logged (at most ${REFUSALS_LOGGED_PER_PEER} a minute per peer; the journal has them)`)
      this.#peers.delete(peer)
      w = undefined
    }
    if (w === undefined) {
      if (this.#peers.size >= MAX_LIMITED_PEERS) this.#peers.delete(this.#peers.keys().next().value as string)
      this.#peers.set(peer, w = { since: now, logged: 0, dropped: 0 })
    }
    if (w.logged < REFUSALS_LOGGED_PER_PEER) { w.logged++; return true }
    w.dropped++
    return false
  }
}

/** Kinds logged at info (the rest only at debug, some sessions included). */
const INFO_KINDS = new Set<JournalRecord['kind']>(['refused', 'session'])

export function logRecord (r: JournalRecord, log: LevelAwareLogger): void {
  // The sync path records every delta: at info, those are dropped before any string is built.
  if (!INFO_KINDS.has(r.kind) && log.isLevelEnabled?.('debug') === false) return
  switch (r.kind) {
    case 'refused':
      log.info({ event: 'refused', key: r.key, peer: r.peer, path: r.path, reason: r.reason }, `refused a delta of ${JSON.stringify(r.key)} from ${r.peer} (${r.reason}): ${r.message}`)
      break
    case 'session':
      if (r.keysChanged > 0) {
        log.info({ event: 'session', peer: r.peer, keysChanged: r.keysChanged, keysReceived: r.keysReceived, keysSent: r.keysSent, bytesIn: r.bytesIn, bytesOut: r.bytesOut, ok: r.ok },
          `session with ${r.peer} repaired ${r.keysChanged} key${r.keysChanged === 1 ? '' : 's'} (${r.bytesIn} bytes in, ${r.bytesOut} out)`)
      } else {
        log.debug({ event: 'session', peer: r.peer, keysReceived: r.keysReceived, keysSent: r.keysSent, bytesIn: r.bytesIn, bytesOut: r.bytesOut, ok: r.ok }, `session with ${r.peer} ended, nothing repaired here`)
      }
      break
    case 'merged':
      log.debug({ event: 'merged', key: r.key, peer: r.peer, path: r.path, writes: r.writes, changed: r.changed, bytes: r.bytes },
        `${r.changed ? 'merged' : 'redundant'} delta of ${JSON.stringify(r.key)} from ${r.peer} by ${r.path}${r.writes.length > 0 ? `: ${r.writes.join(' ')}` : ''}`)
      break
    case 'written':
      log.debug({ event: 'written', key: r.key, writes: r.writes, bytes: r.bytes }, `wrote ${JSON.stringify(r.key)}${r.writes.length > 0 ? `: ${r.writes.join(' ')}` : ''}`)
      break
    case 'want-sent':
      log.debug({ event: 'want-sent', key: r.key, peer: r.peer }, `asked peers for ${JSON.stringify(r.key)}`)
      break
    case 'want-answered':
      log.debug({ event: 'want-answered', key: r.key, peer: r.peer, bytes: r.bytes }, `answered ${r.peer}'s want of ${JSON.stringify(r.key)}`)
      break
    default: break
  }
}
