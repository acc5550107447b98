/**
 * The writes a pushed item carries (message type 9, PROTOCOL.md §4): the
 * writer's replica id, the first and last of its writes of the key folded into
 * the item, and the wall time of the first (for write-to-merge latency). The
 * journal and subscribers get them as write ids, the newest MAX_LISTED_WRITES
 * of a range. The journal keeps the range itself (a replica id and three
 * numbers: a peer names up to 255 characters of replica and 2^52 writes per
 * item) and makes the ids only when a record is read or shown.
 *
 * The ids are the pusher's claim: nothing proves the delta holds those writes
 * until writes are signed (issue 11). Trace says so of an arrival it finds by one.
 */
import { ContractError } from '../errors.ts'
import { formatWriteId } from '../write-id.ts'
import type { JournalPath, RefusalReason } from './journal.ts'
import type { PeerId } from './types.ts'

export interface ItemWrites { replica: string, first: number, last: number, writtenAt: number }

/** Write ids listed per item at most (the newest of its range): a trace names one write, most often the newest. */
export const MAX_LISTED_WRITES = 8

/** The ids of `w`'s writes, oldest first, at most the newest MAX_LISTED_WRITES. */
export function writeIdsOf (w: ItemWrites | undefined): string[] {
  if (w === undefined) return []
  const out: string[] = []
  for (let seq = Math.max(w.first, w.last - MAX_LISTED_WRITES + 1); seq <= w.last; seq++) out.push(formatWriteId(w.replica, seq))
  return out
}

/**
 * A journal record of a delta merged with its writes (kind "merged"): it holds the range, and `writes`
 * (and its JSON) lists the ids, made on each read. `n` and `at` are filled in by the journal.
 */
export class MergedWithWrites {
  readonly kind = 'merged' as const
  readonly key: string
  readonly peer: PeerId
  readonly path: JournalPath
  readonly changed: boolean
  readonly bytes: number
  readonly writtenAt: number
  readonly #w: ItemWrites
  n = 0
  at = 0

  constructor (key: string, peer: PeerId, path: JournalPath, w: ItemWrites, changed: boolean, bytes: number) {
    this.key = key
    this.peer = peer
    this.path = path
    this.#w = w
    this.changed = changed
    this.bytes = bytes
    this.writtenAt = w.writtenAt
  }

  get writes (): string[] {
    return writeIdsOf(this.#w)
  }

  toJSON (): object {
    return { kind: this.kind, key: this.key, peer: this.peer, path: this.path, writes: this.writes, changed: this.changed, bytes: this.bytes, writtenAt: this.writtenAt, n: this.n, at: this.at }
  }
}

/** Why the store refused a delta, as the journal names it. */
export function refusalOf (err: Error): RefusalReason {
  const code = err instanceof ContractError ? err.code : undefined
  if (code === 'invalid_state' || code === 'bad_args') return 'invalid'
  if (code === 'contract_mismatch' || code === 'unknown_contract' || code === 'unauthorized_write') return code
  return 'other'
}
