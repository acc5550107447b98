/**
 * How the replica store lays its data out in the storage's byte keys.
 *
 *   0x00 "meta"                         → meta record: { format, replica, base, clean, repaired? } (see store-meta.ts)
 *   0x01 esc(key) 0x00 0x01             → key record: { c, p?, s, m?, q, g?, e? } (see key-record.ts)
 *   0x02 esc(key) 0x00 0x01 seq:u64be   → one local delta of `key`, sequence number `seq` ≥ 1
 *   0x03 esc(key) 0x00 0x01             → the key's delta tail: deltas since the record was written (see key-tail.ts)
 *
 * Format 2 added the tail; a format-1 folder is a format-2 folder whose keys have
 * no tail, so it is read as is (store-meta.ts upgrades its meta record).
 * Format 3 changed only the meta record (the clean-close marker and the base
 * id); its number keeps a version without the marker off a folder that needs it.
 *
 * `key` is the user key's UTF-8. esc() turns every 0x00 byte into 0x00 0xFF,
 * and 0x00 0x01 ends the key (the FoundationDB tuple-layer trick), so:
 * - any UTF-8 string works, U+0000 included, and no key's storage key is a
 *   prefix of another's (a 0x00 inside a key is always followed by 0xFF);
 * - storage order equals UTF-8 byte order of the user keys, and every key that
 *   starts with a string prefix p lies in one range: [tag esc(p), tag esc(p) 0xFF),
 *   because the byte after esc(p) is never 0xFF (UTF-8 has no 0xFF byte);
 * - one key's delta log is one range, in seq order.
 */
import { ContractError } from './errors.ts'

export const FORMAT = 3
/** Older formats this version reads unchanged. */
export const READABLE_FORMATS: readonly number[] = [1, 2, 3]
export const MAX_KEY_BYTES = 1024

const TAG_META = 0x00
const TAG_RECORD = 0x01
const TAG_LOG = 0x02
const TAG_TAIL = 0x03

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

// In a /u regex a surrogate pair is one code point, so \p{Cs} matches only lone halves.
const LONE_SURROGATE = /\p{Cs}/u

export const META_KEY = Uint8Array.of(TAG_META, ...textEncoder.encode('meta'))

/** UTF-8 of a user key, or ContractError('bad_key'): a string of 1..1024 UTF-8 bytes without lone surrogates. */
export function keyBytes (key: unknown): Uint8Array {
  const bytes = prefixBytes(key)
  if (bytes.length === 0) throw new ContractError('bad_key', 'key must not be empty')
  return bytes
}

/** UTF-8 of a key prefix (may be empty), or ContractError('bad_key'). */
export function prefixBytes (key: unknown): Uint8Array {
  if (typeof key !== 'string') throw new ContractError('bad_key', `key must be a string, got ${key === null ? 'null' : typeof key}`)
  // An ASCII key is its own UTF-8: copying it is several times cheaper than TextEncoder for short keys.
  if (key.length <= MAX_KEY_BYTES) {
    const out = new Uint8Array(key.length)
    let i = 0
    for (; i < key.length; i++) {
      const c = key.charCodeAt(i)
      if (c > 0x7f) break
      out[i] = c
    }
    if (i === key.length) return out
  }
  if (LONE_SURROGATE.test(key)) throw new ContractError('bad_key', `key ${JSON.stringify(key.slice(0, 40))} contains a lone surrogate, which has no UTF-8 form`)
  const bytes = textEncoder.encode(key)
  if (bytes.length > MAX_KEY_BYTES) throw new ContractError('bad_key', `key is ${bytes.length} bytes of UTF-8, over the ${MAX_KEY_BYTES}-byte limit`)
  return bytes
}

function escapedLength (k: Uint8Array): number {
  let n = k.length
  for (let i = 0; i < k.length; i++) if (k[i] === 0) n++
  return n
}

/** Writes tag esc(k) into a new array of `extra` more bytes; returns it and the offset after esc(k). */
function escaped (tag: number, k: Uint8Array, extra: number): [Uint8Array, number] {
  const out = new Uint8Array(1 + escapedLength(k) + extra)
  out[0] = tag
  let p = 1
  for (let i = 0; i < k.length; i++) {
    out[p++] = k[i]
    if (k[i] === 0) out[p++] = 0xff
  }
  return [out, p]
}

function withEnd (tag: number, k: Uint8Array, extra: number): [Uint8Array, number] {
  const [out, p] = escaped(tag, k, 2 + extra)
  out[p] = 0x00
  out[p + 1] = 0x01
  return [out, p + 2]
}

/** Every key the store writes is below this one: a key at or past it is not the store's (another program's data). */
export const PAST_STORE_KEYS = Uint8Array.of(TAG_TAIL + 1)

export function recordKey (k: Uint8Array): Uint8Array {
  return withEnd(TAG_RECORD, k, 0)[0]
}

export function logKey (k: Uint8Array, seq: number): Uint8Array {
  const [out, p] = withEnd(TAG_LOG, k, 8)
  new DataView(out.buffer).setBigUint64(p, BigInt(seq))
  return out
}

/** The range holding the log entries of key `k` with seq > after. */
export function logRange (k: Uint8Array, after = 0): { gte: Uint8Array, lt: Uint8Array } {
  const [lt, p] = withEnd(TAG_LOG, k, 1)
  lt[p] = 0xff // past every 8-byte seq, whose first byte is at most 0x1f (seq < 2^53)
  return { gte: logKey(k, after + 1), lt }
}

export function tailKey (k: Uint8Array): Uint8Array {
  return withEnd(TAG_TAIL, k, 0)[0]
}

/** The range of record keys of every user key starting with the UTF-8 prefix `prefix`. */
export function recordRange (prefix: Uint8Array): { gte: Uint8Array, lt: Uint8Array } {
  const [gte] = escaped(TAG_RECORD, prefix, 0)
  const [lt, p] = escaped(TAG_RECORD, prefix, 1)
  lt[p] = 0xff
  return { gte, lt }
}

/** The range of every key's delta tail; keyOfRecord reads a tail key's user key too. */
export const TAIL_RANGE: { gte: Uint8Array, lt: Uint8Array } = { gte: Uint8Array.of(TAG_TAIL), lt: Uint8Array.of(TAG_TAIL + 1) }

/** The user key of a record key (inverse of recordKey), or of a tail key. */
export function keyOfRecord (storageKey: Uint8Array): string {
  return textDecoder.decode(unescape(storageKey, 1))
}

/** The seq of a log key. */
export function seqOfLog (storageKey: Uint8Array): number {
  return Number(new DataView(storageKey.buffer, storageKey.byteOffset, storageKey.byteLength).getBigUint64(storageKey.length - 8))
}

function unescape (b: Uint8Array, from: number): Uint8Array {
  const out: number[] = []
  for (let i = from; i < b.length; i++) {
    if (b[i] !== 0) { out.push(b[i]); continue }
    if (b[i + 1] === 0x01) return Uint8Array.from(out)
    if (b[i + 1] !== 0xff) break
    out.push(0); i++
  }
  throw new Error(`storage key ${Buffer.from(b).toString('hex')} has no key terminator: the data folder is corrupt`)
}
