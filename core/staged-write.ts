/**
 * One key's pending write in the open batch, and the storage ops it becomes.
 * Many writes to a key in one batch fold into one Staged: the newest entry
 * (encoded once, at flush), the new local deltas still inside the log window,
 * and one subscriber event per write.
 */
import { type Plain, encode } from './codec.ts'
import { logKey, recordKey } from './key-layout.ts'
import { type Entry, encodeRecord } from './key-record.ts'
import type { BatchOp } from './storage.ts'

export interface LoggedDelta { seq: number, delta: Plain }

export interface Staged {
  kb: Uint8Array
  entry: Entry
  /** The key's seq before this batch: log entries up to it were written by earlier batches. */
  baseSeq: number
  /** New local deltas, at most `limit` of the newest. */
  deltas: LoggedDelta[]
  events: Array<{ entry: Entry, origin: string }>
}

/** Folds a write (prev → next, with its local delta if any) into the key's Staged of the open batch, or starts one. */
export function stageWrite (s: Staged | undefined, kb: Uint8Array, prev: Entry, next: Entry, delta: Plain | undefined, origins: readonly string[], limit: number): Staged {
  if (s === undefined) s = { kb, entry: next, baseSeq: prev.seq, deltas: [], events: [] }
  else s.entry = next
  if (delta !== undefined && limit > 0) {
    s.deltas.push({ seq: next.seq, delta })
    if (s.deltas.length > limit) s.deltas.shift()
  }
  for (const origin of origins) s.events.push({ entry: next, origin })
  return s
}

/** The record put, the new log entries, and the deletion of older entries this batch pushes out of the log window. */
export function stagedOps (s: Staged, limit: number): BatchOp[] {
  const ops: BatchOp[] = [{ type: 'put', key: recordKey(s.kb), value: encodeRecord(s.entry) }]
  for (const d of s.deltas) ops.push({ type: 'put', key: logKey(s.kb, d.seq), value: encode(d.delta) })
  const last = Math.min(s.baseSeq, s.entry.seq - limit)
  for (let seq = Math.max(1, s.baseSeq - limit + 1); seq <= last; seq++) ops.push({ type: 'del', key: logKey(s.kb, seq) })
  return ops
}
