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
export function logJournal (journal: Journal, log: LevelAwareLogger): () => void {
  return journal.subscribe(r => { logRecord(r, log) })
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
