/**
 * A key's write epochs: which replica id each of its local seqs was written under, so that a write id
 * (core/write-id.ts) names the id in force when the write was made, however many restarts came since.
 *
 * Kept in the key's record as `e: [[replica, firstSeq], ...]`, firstSeq ascending: seq s was written
 * under the last entry whose firstSeq ≤ s. A key's first write under a new replica id appends an entry
 * and rewrites the record in the same batch as the write (staged-write.ts), so the two cannot part in a
 * crash. Entries wholly older than the delta log's window are dropped: a key holds at most one entry per
 * epoch change within its last `limit` writes, plus one.
 *
 * A record written before epochs were kept has none. Its first write since then starts the list with a
 * guess for the older seqs: the id this open replaced if it took a new one (an unclean stop, a repair),
 * else the current id. That is exact unless the key's log spans two or more epoch changes made before
 * the upgrade.
 */
import { isReplicaId } from './dots.ts'

export type Epochs = ReadonlyArray<readonly [replica: string, firstSeq: number]>

/** The epochs of a decoded record's `e`, or undefined when it is malformed. */
export function decodeEpochs (e: unknown): Epochs | undefined {
  if (!Array.isArray(e)) return undefined
  let last = 0
  for (const x of e) {
    if (!Array.isArray(x) || x.length !== 2 || !isReplicaId(x[0]) || !Number.isSafeInteger(x[1]) || x[1] <= last) return undefined
    last = x[1]
  }
  return e as Epochs
}

/**
 * The key's epochs after local write `seq` under `replica`: the same array when nothing changes (so the
 * caller knows the record need not be rewritten), else a new one. `older` names seqs before the first
 * entry of a key that has none yet (see above).
 */
export function epochsAfterWrite (epochs: Epochs, seq: number, replica: string, older: string, limit: number): Epochs {
  if (epochs.length > 0 && epochs[epochs.length - 1][0] === replica) return epochs
  const out: Array<readonly [string, number]> = epochs.length === 0 && seq > 1 && older !== replica ? [[older, 1]] : [...epochs]
  out.push([replica, out.length === 0 ? 1 : seq])
  // Drop entries whose successor starts at or before the oldest seq the log still holds.
  const oldest = seq - limit + 1
  while (out.length > 1 && out[1][1] <= oldest) out.shift()
  return out
}

/** The replica id local write `seq` was made under, or undefined when the epochs do not say (see above). */
export function replicaOfSeq (epochs: Epochs, seq: number): string | undefined {
  for (let i = epochs.length - 1; i >= 0; i--) if (epochs[i][1] <= seq) return epochs[i][0]
  return undefined
}
