/**
 * A key's delta tail. Rewriting a key's whole record for every small delta
 * costs the record's size per delta (KBs for a delta of tens of bytes), so a
 * write instead appends its delta to the key's tail, a second stored value
 * next to the record, and only every so often is the tail folded into the
 * record (one atomic batch rewrites the record and deletes the tail).
 * Loading a key merges record ⊔ tail deltas: each is the very delta that was
 * merged into the state when it was written, and merge is associative,
 * commutative and idempotent, so the replay yields the same state.
 *
 * The tail is one value, the CBOR array [gen, [seq, delta], …]: a load is two
 * gets and one decode whatever the number of deltas, and appending re-writes
 * only the tail's bytes kept in memory (no encoding). `gen` is the generation
 * of the record the tail extends; each fold writes the next one.
 *
 * Reading the tail first, then the record, needs no snapshot: the record
 * read is never older than the tail. Of the same generation (the record is
 * fixed within one, the tail only grows), record ⊔ tail is the state as of
 * the tail read. Newer: a fold came in between, and the record alone holds
 * all the tail held; the tail is ignored. No tail: the record then, or a
 * newer one, is the state as of the tail read.
 */
import { type Plain, decode } from './codec.ts'
import { MAX_DEPTH } from './json.ts'
import { DamagedStoreError } from './storage.ts'

/** Deltas a key's tail may hold before the next write folds them into its record. */
export const MAX_TAIL = 16

/** Local records may be large and are trusted more than the network's bytes: wide limits, still checked. */
export const LOCAL_LIMITS = { maxBytes: 2 ** 31 - 1, maxItems: 2 ** 31 - 1, maxDepth: MAX_DEPTH + 2 }

/**
 * What storage holds for one key besides its log, as of the last batch handed
 * to storage. One object per key, shared by all the key's entries and updated
 * in place when a batch is turned into ops (stagedOps): batches are flushed
 * one at a time and in order, and a write is staged only into the one batch
 * not yet flushed, so what a write sees here is what its batch will extend.
 */
export interface TailState {
  /** Generation of the key's record (0: no record yet, or one written before tails existed). */
  gen: number
  /** Deltas in the tail (0: no tail stored). */
  count: number
  /** The tail's [seq, delta] items, encoded back to back: what the next append extends. */
  body: Uint8Array
  /** Stored size of the tail (key + value; 0: none). */
  bytes: number
  /** Stored size of the record (0: none yet). */
  recordBytes: number
}

const NO_BYTES = new Uint8Array(0)

export function freshTail (): TailState {
  return { gen: 0, count: 0, body: NO_BYTES, bytes: 0, recordBytes: 0 }
}

/**
 * Whether a batch that would leave a tail of `count` deltas and `bytes`
 * stored bytes must fold instead: when the key has no record yet, the tail
 * is full, or it outgrew half the record. Each append rewrites the whole
 * tail, so a tail of k deltas of e bytes costs about k·e/2 per delta and a
 * fold R/k: keeping the tail under R/2 and 16 deltas keeps the sum of both
 * within a small factor of its minimum, about √(2Re), for records from a few
 * hundred bytes to tens of KB.
 */
export function mustFold (t: TailState, count: number, bytes: number): boolean {
  return t.recordBytes === 0 || count > MAX_TAIL || 2 * bytes > t.recordBytes
}

/**
 * The stored tail [gen, …items] after appending `items` (each [seq, delta],
 * around the delta's already encoded bytes) to the tail whose items are
 * `body`, with `count` items in all; and the new body, a view into it. One
 * allocation, from Node's buffer pool when small: this runs once per write.
 */
export function appendToTail (gen: number, count: number, body: Uint8Array, items: ReadonlyArray<{ seq: number, delta: Uint8Array }>): { value: Uint8Array, body: Uint8Array } {
  const a = uintSize(count + 1)
  const g = uintSize(gen)
  let size = a + g + body.length
  for (const item of items) size += 1 + uintSize(item.seq) + item.delta.length
  const out = Buffer.allocUnsafe(size)
  writeUint(out, 0, count + 1, a)
  out[0] |= 0x80 // major type 4: array
  writeUint(out, a, gen, g)
  out.set(body, a + g)
  let at = a + g + body.length
  for (const item of items) {
    out[at++] = 0x82
    const q = uintSize(item.seq)
    writeUint(out, at, item.seq, q)
    at += q
    out.set(item.delta, at)
    at += item.delta.length
  }
  return { value: out, body: out.subarray(a + g) }
}

// A safe integer n ≥ 0 as the codec writes it: the shortest uint below 2^32, a float64 from there.
function uintSize (n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9
}

function writeUint (out: Uint8Array, at: number, n: number, size: number): void {
  switch (size) {
    case 1: out[at] = n; return
    case 2: out[at] = 24; out[at + 1] = n; return
    case 3: out[at] = 25; out[at + 1] = n >> 8; out[at + 2] = n; return
    case 5: out[at] = 26; out[at + 1] = n >>> 24; out[at + 2] = n >> 16; out[at + 3] = n >> 8; out[at + 4] = n; return
    default: out[at] = 0xfb; new DataView(out.buffer, out.byteOffset + at + 1, 8).setFloat64(0, n)
  }
}

/** Bytes of a CBOR head (a uint, an array head or a float64) starting with byte `b`. */
function headSize (b: number): number {
  const info = b & 0x1f
  return info < 24 ? 1 : 1 + (1 << (info - 24))
}

export interface StoredTail { gen: number, items: Array<{ seq: number, delta: Plain }>, body: Uint8Array }

/** Decodes a stored tail, or throws naming the key and what is wrong. */
export function decodeTail (value: Uint8Array, key: string): StoredTail {
  const corrupt = (why: string): Error => new DamagedStoreError(`delta tail of key ${JSON.stringify(key)} is corrupt (${why}): the data folder is damaged`)
  let v: Plain
  try {
    v = decode(value, LOCAL_LIMITS)
  } catch (err) {
    throw corrupt((err as Error).message)
  }
  if (!Array.isArray(v) || v.length < 2) throw corrupt('not [gen, …deltas]')
  const gen = v[0]
  if (typeof gen !== 'number' || !Number.isSafeInteger(gen) || gen < 0) throw corrupt('bad generation')
  const items = v.slice(1).map(item => {
    if (!Array.isArray(item) || item.length !== 2) throw corrupt('an item is not [seq, delta]')
    const [seq, delta] = item
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) throw corrupt('bad seq')
    return { seq, delta }
  })
  const at = headSize(value[0])
  return { gen, items, body: value.subarray(at + headSize(value[at])) }
}

export interface Replayed { state: Plain, seq: number, tail: TailState }

/**
 * The key's state: `state` and `seq` (its record's, of generation `gen` and
 * `recordBytes` stored bytes) with the deltas of `tail` (`tailBytes` stored
 * bytes) merged in, if it extends that generation; and the tail state.
 */
export function replayTail (state: Plain, seq: number, gen: number, recordBytes: number, tail: StoredTail | undefined, tailBytes: number,
  merge: (a: Plain, b: Plain) => Plain): Replayed {
  if (tail === undefined || tail.gen !== gen) return { state, seq, tail: { gen, count: 0, body: NO_BYTES, bytes: 0, recordBytes } }
  // The deltas are joined first (small into small) and merged into the large state once.
  let joined: Plain | undefined
  for (const item of tail.items) {
    joined = joined === undefined ? item.delta : merge(joined, item.delta)
    if (item.seq > seq) seq = item.seq
  }
  return {
    state: joined === undefined ? state : merge(state, joined),
    seq,
    tail: { gen, count: tail.items.length, body: tail.body, bytes: tailBytes, recordBytes }
  }
}
