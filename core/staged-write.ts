/**
 * One key's pending write in the open batch, and the storage ops it becomes.
 * Many writes to a key in one batch fold into one Staged: the newest entry,
 * each write's delta (for the key's tail), the new local deltas still inside
 * the log window, and one subscriber event per write. At flush the batch
 * either appends the deltas to the key's tail or, when the tail is full (see
 * key-tail.ts), rewrites the key's record once, whatever the number of writes.
 */
import { type Plain, encodeLocal } from './codec.ts'
import { logKey, recordKey, tailKey } from './key-layout.ts'
import { type Entry, encodeRecord } from './key-record.ts'
import { MAX_TAIL, type TailState, appendToTail, mustFold } from './key-tail.ts'
import type { ChangeSource } from './remote-merge.ts'
import type { BatchOp } from './storage.ts'

/** A local delta of the key's log; `id`, when read back, is its write id (ReplicaStore.writeIdOf). */
export interface LoggedDelta { seq: number, delta: Plain, id?: string }

/** A delta waiting to be written; its bytes are encoded once, for the log and the tail alike. */
interface PendingDelta extends LoggedDelta { bytes?: Uint8Array }

export interface Staged {
  kb: Uint8Array
  entry: Entry
  /** The key's seq before this batch: log entries up to it were written by earlier batches. */
  baseSeq: number
  /** Each write's delta, in order, for the tail; undefined once they are too many and the batch folds. */
  tail: PendingDelta[] | undefined
  /** New local deltas, at most `limit` of the newest. */
  deltas: PendingDelta[]
  events: Array<{ entry: Entry, origin: string, writes?: readonly string[] }>
  /** A write changed the key's epochs (write-epochs.ts): the record is rewritten, in this batch, to keep them. */
  epochs?: true
}

/**
 * Folds a write (prev → next, which merged `delta` into prev's state) into the
 * key's Staged of the open batch, or starts one. `local` says whether the
 * delta is a local one, for the delta log.
 */
export function stageWrite (s: Staged | undefined, kb: Uint8Array, prev: Entry, next: Entry, delta: Plain, local: boolean, origins: ReadonlyArray<string | ChangeSource>, limit: number): Staged {
  if (s === undefined) s = { kb, entry: next, baseSeq: prev.seq, tail: [], deltas: [], events: [] }
  else s.entry = next
  if (next.epochs !== prev.epochs) s.epochs = true
  const pending: PendingDelta = { seq: next.seq, delta }
  if (s.tail !== undefined) {
    s.tail.push(pending)
    if (next.tail.count + s.tail.length > MAX_TAIL) s.tail = undefined
  }
  if (local && limit > 0) {
    s.deltas.push(pending)
    if (s.deltas.length > limit) s.deltas.shift()
  }
  for (const o of origins) s.events.push(typeof o === 'string' ? { entry: next, origin: o } : { entry: next, origin: o.origin, writes: o.writes })
  return s
}

function bytesOf (d: PendingDelta): Uint8Array {
  return (d.bytes ??= encodeLocal(d.delta))
}

/**
 * The new tail or the rewritten record, the new log entries, and the deletion
 * of older log entries this batch pushes out of the window. Updates the key's
 * tail state to what the batch leaves in storage: call once per batch, in
 * batch order.
 */
export function stagedOps (s: Staged, limit: number): BatchOp[] {
  const t = s.entry.tail
  const ops: BatchOp[] = []
  if (s.tail === undefined || s.epochs === true || !appendTail(ops, s.kb, t, s.tail)) {
    const key = recordKey(s.kb)
    const value = encodeRecord(s.entry, t.gen + 1)
    ops.push({ type: 'put', key, value })
    if (t.count > 0) ops.push({ type: 'del', key: tailKey(s.kb) })
    t.gen++
    t.count = 0
    t.body = new Uint8Array(0)
    t.bytes = 0
    t.recordBytes = key.length + value.length
  }
  for (const d of s.deltas) ops.push({ type: 'put', key: logKey(s.kb, d.seq), value: bytesOf(d) })
  const last = Math.min(s.baseSeq, s.entry.seq - limit)
  for (let seq = Math.max(1, s.baseSeq - limit + 1); seq <= last; seq++) ops.push({ type: 'del', key: logKey(s.kb, seq) })
  return ops
}

/** Pushes the put of the key's tail extended by `deltas` and returns true, or returns false if the batch must fold instead. */
function appendTail (ops: BatchOp[], kb: Uint8Array, t: TailState, deltas: PendingDelta[]): boolean {
  if (t.recordBytes === 0) return false
  const count = t.count + deltas.length
  const { value, body } = appendToTail(t.gen, count, t.body, deltas.map(d => ({ seq: d.seq, delta: bytesOf(d) })))
  const key = tailKey(kb)
  if (mustFold(t, count, key.length + value.length)) return false
  ops.push({ type: 'put', key, value })
  t.count = count
  t.body = body
  t.bytes = key.length + value.length
  return true
}
