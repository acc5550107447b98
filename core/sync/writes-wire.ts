/**
 * The write list of a `writes` push (message type 9, PROTOCOL.md §4): one
 * entry per item, in item order, `null` (the sender names no writes for it)
 * or `[replica, firstSeq, lastSeq, writtenAtMs]`. Decoded strictly: a replica
 * id as contracts' dots allow (1..255 characters, no spaces), whole seqs
 * 1 ≤ first ≤ last, a whole, non-negative wall time; nothing else.
 */
import type { Plain } from '../codec.ts'
import { isReplicaId } from '../dots.ts'
import { ProtocolError, short } from './wire.ts'
import type { ItemWrites } from './write-ranges.ts'

/** The encoder accepts only what the decoder accepts: an entry it would refuse throws here, at its sender. */
export function writesWire (writes: ReadonlyArray<ItemWrites | undefined>): Plain[] {
  return writes.map(w => {
    if (w === undefined) return null
    const e: Plain = [w.replica, w.first, w.last, w.writtenAt]
    itemWrites(e)
    return e
  })
}

export function writesList (x: Plain, items: number): Array<ItemWrites | undefined> {
  if (!Array.isArray(x)) throw new ProtocolError('bad_field', `write list is malformed: ${short(x)}`)
  if (x.length !== items) throw new ProtocolError('bad_field', `write list holds ${x.length} entries for ${items} items`)
  return x.map(e => e === null ? undefined : itemWrites(e))
}

function itemWrites (e: Plain): ItemWrites {
  if (!Array.isArray(e) || e.length !== 4) throw new ProtocolError('bad_field', `a write list entry is null or [replica, firstSeq, lastSeq, writtenAtMs], got ${short(e)}`)
  const [replica, first, last, writtenAt] = e
  if (!isReplicaId(replica)) throw new ProtocolError('bad_field', `write list replica id is malformed: ${short(replica)}`)
  if (!isSeq(first) || !isSeq(last) || last < first) throw new ProtocolError('bad_field', `write list seqs must be whole numbers 1 ≤ first ≤ last, got ${short(first)}..${short(last)}`)
  if (typeof writtenAt !== 'number' || !Number.isSafeInteger(writtenAt) || writtenAt < 0) throw new ProtocolError('bad_field', `write list time must be whole milliseconds ≥ 0, got ${short(writtenAt)}`)
  return { replica, first, last, writtenAt }
}

function isSeq (x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 1
}
