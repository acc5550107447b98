/**
 * The writes a pushed item carries (message type 9, PROTOCOL.md §4): the
 * writer's replica id, the first and last of its writes of the key folded into
 * the item, and the wall time of the first (for write-to-merge latency). The
 * journal and subscribers get them as write ids, the newest MAX_LISTED_WRITES
 * of a range: older ones have left the writer's delta log anyway (it keeps 64
 * per key), so nothing could be asked of them.
 */
import { ContractError } from '../errors.ts'
import { formatWriteId } from '../write-id.ts'
import type { RefusalReason } from './journal.ts'

export interface ItemWrites { replica: string, first: number, last: number, writtenAt: number }

/** Write ids listed per item at most (the newest of its range): the writer's delta log keeps 64 per key. */
export const MAX_LISTED_WRITES = 64

/** The ids of `w`'s writes, oldest first, at most the newest MAX_LISTED_WRITES. */
export function writeIdsOf (w: ItemWrites | undefined): string[] {
  if (w === undefined) return []
  const out: string[] = []
  for (let seq = Math.max(w.first, w.last - MAX_LISTED_WRITES + 1); seq <= w.last; seq++) out.push(formatWriteId(w.replica, seq))
  return out
}

/** Why the store refused a delta, as the journal names it. */
export function refusalOf (err: Error): RefusalReason {
  const code = err instanceof ContractError ? err.code : undefined
  if (code === 'invalid_state' || code === 'bad_args') return 'invalid'
  if (code === 'contract_mismatch' || code === 'unknown_contract') return code
  return 'other'
}
