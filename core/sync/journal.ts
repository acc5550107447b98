/**
 * The sync journal: a bounded, in-memory record of what this peer exchanged
 * with others, key by key (README "When something is missing"). The engine
 * records; inspect, trace, `monoidb journal`, metrics and the dashboard read.
 * It holds the newest `limit` events (default 10,000) and forgets older ones:
 * a reader that needs more says "the journal does not remember", never guesses.
 * Recording is one array write and a listener call, so it costs the sync path
 * next to nothing.
 */
import type { PeerId } from './types.ts'

/**
 * How a delta reached us. `local`: written here. `push`: a gossiped push. `repair`: an anti-entropy session
 * delta (one that changed state is a push that went missing). `catch-up`: a session pulled after a digest's
 * `was` matched (a peer returning). `want`: the answer to a want (a read or watch of a key not held).
 */
export type JournalPath = 'local' | 'push' | 'repair' | 'catch-up' | 'want'

/** Why a delta or message about a key was refused. */
export type RefusalReason = 'invalid' | 'contract_mismatch' | 'unknown_contract' | 'unauthorized_write' | 'oversize' | 'not_kept' | 'other'

export type JournalEntry =
  /** A delta merged into `key`: `changed` false means we had it all (redundant). `writes`: ids it brought, where known. */
  | { kind: 'merged', key: string, peer: PeerId, path: JournalPath, writes: string[], changed: boolean, bytes: number, writtenAt?: number }
  /** A local write (peer is this peer). */
  | { kind: 'written', key: string, peer: PeerId, path: 'local', writes: string[], bytes: number }
  /** A delta about `key` from `peer` that was refused. */
  | { kind: 'refused', key: string, peer: PeerId, path: JournalPath, reason: RefusalReason, message: string }
  /** We asked peers for keys we lack (peer: '*' when published to all). */
  | { kind: 'want-sent', key: string, peer: PeerId }
  /** We answered `peer`'s want of `key`. */
  | { kind: 'want-answered', key: string, peer: PeerId, bytes: number }
  /** A reconciliation session with `peer` ended: keys it changed here, keys sent, bytes both ways. `key` is ''. */
  | { kind: 'session', key: '', peer: PeerId, keysReceived: number, keysChanged: number, keysSent: number, bytesIn: number, bytesOut: number, ok: boolean }

/** An entry as stored: `n` counts from 1 for the life of the journal, `at` is ms since the epoch. */
export type JournalRecord = JournalEntry & { n: number, at: number }

export interface JournalQuery {
  key?: string
  peer?: PeerId
  /** Only records with n > after. */
  after?: number
  /** At most this many, the newest (default all that match). */
  limit?: number
}

export const DEFAULT_JOURNAL_LIMIT = 10_000

export class Journal {
  readonly limit: number
  readonly #ring: Array<JournalRecord | undefined>
  #next = 1
  readonly #listeners = new Set<(r: JournalRecord) => void>()

  constructor (limit = DEFAULT_JOURNAL_LIMIT) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError('journal limit must be a whole number ≥ 1')
    this.limit = limit
    this.#ring = new Array(limit)
  }

  /** Number of the newest record (0 if none). */
  get last (): number { return this.#next - 1 }
  /** Number of the oldest record still held (1 until the journal wraps). */
  get first (): number { return Math.max(1, this.#next - this.limit) }

  /** Records `entry`, which becomes the record (numbered and stamped in place: callers pass a fresh object). */
  record (entry: JournalEntry, at: number): JournalRecord {
    const r = entry as JournalRecord
    r.n = this.#next
    r.at = at
    this.#ring[(this.#next - 1) % this.limit] = r
    this.#next++
    if (this.#listeners.size > 0) {
      for (const l of this.#listeners) {
        try { l(r) } catch { /* a reader's bug must not break sync */ }
      }
    }
    return r
  }

  /** Matching records, oldest first. */
  query (q: JournalQuery = {}): JournalRecord[] {
    const out: JournalRecord[] = []
    const from = Math.max(this.first, (q.after ?? 0) + 1)
    for (let n = this.last; n >= from; n--) {
      const r = this.#ring[(n - 1) % this.limit]!
      if (q.key !== undefined && r.key !== q.key) continue
      if (q.peer !== undefined && r.peer !== q.peer) continue
      out.push(r)
      if (q.limit !== undefined && out.length >= q.limit) break
    }
    return out.reverse()
  }

  /** Calls `listener` with every record from now on; returns the function that stops it. */
  subscribe (listener: (r: JournalRecord) => void): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }
}
