/**
 * The sync protocol's messages (PROTOCOL.md describes them byte by byte).
 * Every message is one canonical CBOR array `[3, type, ...fields]`; 3 is the
 * protocol version and the type a small number. Each type has one encoder and
 * one strict decoder: bytes from the network are untrusted, and anything off
 * (version, type, arity, field types, sizes, order) is a ProtocolError, never
 * another exception. Contract states and summaries inside messages are left
 * to the contracts to validate when they are merged or compared.
 */
import { type Plain, DEFAULT_MAX_BYTES, decode, encode } from '../codec.ts'
import type { BoundRef } from '../subscription.ts'
import { HASH_BYTES, sameHash } from './key-index.ts'
import {
  ProtocolError, type SessionId, ascendingIn, bool, boundsAt, boundsWire, bytes, keyList, keyedList, keyedWire, keysWire, list,
  short, sid, sidWire, slice, tuple, uint
} from './wire.ts'

import { writesList, writesWire } from './writes-wire.ts'
import type { ItemWrites } from './write-ranges.ts'

export { ProtocolError, type ProtocolErrorCode, type SessionId, refWire } from './wire.ts'

/**
 * Version 3: digests are the 16-byte hash of a multiset-hash accumulator (lthash.ts), not a XOR, and a session
 * whose ranges all match while digests differ compares salted item hashes (`salted`). Version 2 (XOR digests,
 * which a writer of many keys can make collide) and 1 are refused as `bad_version`.
 */
export const PROTOCOL_VERSION = 3
/** No peer may emit a message over 1 MiB (gossipsub frames fail past 4 MiB); receivers allow a little slack. */
export const MAX_MESSAGE_BYTES = DEFAULT_MAX_BYTES
export const MAX_WIRE_BYTES = MAX_MESSAGE_BYTES + 1024
/**
 * Largest push published on gossip (a want's answer sent to a neighbour may be larger): every peer on the
 * way validates a gossiped push before forwarding it, and at this size that stays well under 50 ms. A
 * change too large for it reaches peers by anti-entropy sessions, which are direct; peers ignore larger
 * gossiped pushes (from peers before this limit) without forwarding them, and sessions bring their data.
 */
export const MAX_GOSSIP_PUSH_BYTES = 64 * 1024
/** Most keys in one item list or summary list. */
export const MAX_RANGE_ITEMS = 1024
/** Item lists and acks carry 8-byte prefixes of item hashes: enough to tell keys apart (a rare miss is caught, see reconcile.ts). */
export const ITEM_HASH_BYTES = 8
export const ACK_HASH_BYTES = ITEM_HASH_BYTES
/**
 * Range fingerprints in sessions carry 4 of their 16 bytes, a different quarter in each of four
 * consecutive sessions: a collision (a differing range taken for equal, odds 2^-32 per range compared)
 * costs a session, and the next one, looking at other bytes, finds the difference. Digests, the final
 * word on whether two peers agree, carry all 16.
 */
export const RANGE_FP_BYTES = 4
export function fpOffset (sid: SessionId): number { return (sid.n % (HASH_BYTES / RANGE_FP_BYTES)) * RANGE_FP_BYTES }
/** Whether our full fingerprint `full` matches `fp` as a session carries it (or in full). */
export function matchesFp (full: Uint8Array, fp: Uint8Array, offset: number): boolean {
  return fp.length === full.length ? sameHash(full, fp) : sameHash(full.subarray(offset, offset + fp.length), fp)
}

/** The salted fallback (salted.ts): a fresh salt per session, and salted item hashes of this many bytes. */
export const SALT_BYTES = 16
export const SALTED_HASH_BYTES = 8
/** Most keys in one `salted` message (each costs its receiver a hash). */
export const MAX_SALTED_KEYS = 4 * 1024

export interface DeltaItem { key: string, contract: BoundRef, delta: Plain }
/** `fp`: our own are 16 bytes; a peer's, as sessions carry them, RANGE_FP_BYTES (see matchesFp). */
export interface RangeFp { lo: string, hi: string | null, count: number, fp: Uint8Array }
/** Item hashes: their first ITEM_HASH_BYTES bytes travel (longer ones are cut). */
export interface RangeItems { lo: string, hi: string | null, items: Array<[key: string, hash: Uint8Array]> }
export interface Summary { key: string, contract: BoundRef, summary: Plain }
/** Like an item list, with the summaries themselves: no hashes to compare, and it saves a round trip. */
export interface RangeSums { lo: string, hi: string | null, sums: Summary[] }

export type Message =
  | { type: 'push', items: DeltaItem[] }
  /**
   * `fp`: the digest of all the sender's item hashes (lthash.ts); `was`: that of a state it held before (a peer holding it now can
   * pull a catch-up from it); `partial`: the sender keeps only some keys (partial replication), so its digest is not
   * comparable with anyone's: it reconciles by summaries of its own keys instead.
   */
  | { type: 'digest', fp: Uint8Array, was?: Uint8Array, partial?: true }
  | { type: 'ranges', sid: SessionId, seq: number, fps: RangeFp[], items: RangeItems[], sums: RangeSums[] }
  /** `lacking`: keys the sender does not hold at all. */
  | { type: 'sums', sid: SessionId, seq: number, reply: boolean, sums: Summary[], lacking: string[] }
  /** `check`: the receiver reports, in its ack, the item hash it holds after merging each key. */
  | { type: 'deltas', sid: SessionId, seq: number, check: boolean, items: DeltaItem[] }
  /** `hashes`: for an acked `deltas` with `check`, one ACK_HASH_BYTES prefix per distinct key of it, in order (zeros: not held); else empty. */
  | { type: 'ack', sid: SessionId, re: number, spawned: number[], hashes: Uint8Array[] }
  /** Keys the sender wants and does not hold: a peer holding one publishes a push of its whole state. */
  | { type: 'want', keys: string[] }
  /** To a partial peer whose digest differs from ours over its keys: `fp`, our digest over them (peer-scopes.ts). */
  | { type: 'scope', fp: Uint8Array }
  /** A push whose items carry the writes folded into them, where known (writes-wire.ts): one entry per item. */
  | { type: 'writes', items: DeltaItem[], writes: Array<ItemWrites | undefined> }
  /** Keys with salted item hashes (sha256(salt || item hash), first SALTED_HASH_BYTES): a session's fallback when ranges all match but digests differ (salted.ts). */
  | { type: 'salted', sid: SessionId, seq: number, salt: Uint8Array, lists: RangeItems[] }

export type MessageType = Message['type']
/** Wire numbers of the types: MESSAGE_TYPES[n - 1] is type n. */
export const MESSAGE_TYPES: readonly MessageType[] = ['push', 'digest', 'ranges', 'sums', 'deltas', 'ack', 'want', 'scope', 'writes', 'salted']
/** `salted` is type 12: 10 and 11 are the inspection topic's (inspect-messages.ts). */
export const SALTED_TYPE = 12
const typeNumber = (t: MessageType): number => t === 'salted' ? SALTED_TYPE : MESSAGE_TYPES.indexOf(t) + 1
const typeOfNumber = (n: number): MessageType | undefined => n === SALTED_TYPE ? 'salted' : n >= 1 && n <= 9 ? MESSAGE_TYPES[n - 1] : undefined

// ---- encoding ------------------------------------------------------------------------------

const deltasWire = (items: readonly DeltaItem[]): [Plain[], Plain[]] => keyedWire(items.map(d => ({ key: d.key, contract: d.contract, value: d.delta })))
const summariesWire = (sums: readonly Summary[]): [Plain[], Plain[]] => keyedWire(sums.map(s => ({ key: s.key, contract: s.contract, value: s.summary })))
const packed = (hashes: readonly Uint8Array[], n: number): Uint8Array => {
  const out = new Uint8Array(hashes.length * n)
  hashes.forEach((h, i) => { out.set(h.subarray(0, n), i * n) })
  return out
}

/**
 * Consecutive fingerprints that share bounds (a split of one range) travel as one
 * `[...bounds of the whole, cuts, counts, fps]` (bounds: see boundsWire; cuts front-coded from lo).
 */
function splitsWire (fps: readonly RangeFp[], offset: number): Plain[] {
  const part = (fp: Uint8Array): Uint8Array => fp.length === RANGE_FP_BYTES ? fp : fp.subarray(offset, offset + RANGE_FP_BYTES)
  const out: Plain[] = []
  let prev = ''
  for (let i = 0; i < fps.length;) {
    let j = i + 1
    while (j < fps.length && fps[j - 1].hi !== null && fps[j].lo === fps[j - 1].hi) j++
    const g = fps.slice(i, j)
    const hi = g[g.length - 1].hi
    out.push([...boundsWire(g[0].lo, hi, prev), keysWire(g.slice(1).map(r => r.lo), g[0].lo), g.map(r => r.count), packed(g.map(r => part(r.fp)), RANGE_FP_BYTES)])
    prev = hi ?? g[0].lo
    i = j
  }
  return out
}
/** A list of ranges, each front-coded against the one before. */
function rangesWire<R extends { lo: string, hi: string | null }> (rs: readonly R[], fields: (r: R) => Plain[]): Plain[] {
  let prev = ''
  return rs.map(r => {
    const w = [...boundsWire(r.lo, r.hi, prev), ...fields(r)]
    prev = r.hi ?? r.lo
    return w
  })
}
const itemFields = (r: RangeItems): Plain[] => [keysWire(r.items.map(i => i[0]), r.lo), packed(r.items.map(i => i[1]), ITEM_HASH_BYTES)]
const saltedFields = (r: RangeItems): Plain[] => [keysWire(r.items.map(i => i[0]), r.lo), packed(r.items.map(i => i[1]), SALTED_HASH_BYTES)]
const sumFields = (r: RangeSums): Plain[] => summariesWire(r.sums)

function toWire (m: Message): Plain {
  const head = [PROTOCOL_VERSION, typeNumber(m.type)]
  switch (m.type) {
    case 'push': return [...head, ...deltasWire(m.items)]
    case 'digest': return m.partial === true ? [...head, m.fp, m.was ?? null, true] : m.was === undefined ? [...head, m.fp] : [...head, m.fp, m.was]
    case 'ranges': return [...head, sidWire(m.sid), m.seq, splitsWire(m.fps, fpOffset(m.sid)), rangesWire(m.items, itemFields), rangesWire(m.sums, sumFields)]
    case 'sums': return [...head, sidWire(m.sid), m.seq, m.reply, ...summariesWire(m.sums), keysWire(m.lacking)]
    case 'deltas': return [...head, sidWire(m.sid), m.seq, m.check, ...deltasWire(m.items)]
    case 'ack': return [...head, sidWire(m.sid), m.re, m.spawned, packed(m.hashes, ACK_HASH_BYTES)]
    case 'want': return [...head, keysWire([...new Set(m.keys)].sort())]
    case 'scope': return [...head, m.fp]
    case 'writes': return [...head, ...deltasWire(m.items), writesWire(m.writes)]
    case 'salted': return [...head, sidWire(m.sid), m.seq, m.salt, rangesWire(m.lists, saltedFields)]
  }
}

/** The canonical bytes of a message. Does not check the size: chunk first (see `chunk`). */
export function encodeMessage (m: Message): Uint8Array {
  return encode(toWire(m))
}

/** Front coding and ref indexes make an entry's size depend on its neighbours: count a whole key, and 3 bytes each for the numbers. */
const keyedSize = (key: string, value: Plain): number => encode(key).length + encode(value).length + 6

/** Upper bounds of the encoded sizes of the parts messages are chunked by. */
export const entrySize = {
  /** In a delta list; the contract table is counted apart (see `refsSize`). */
  deltaItem: (d: DeltaItem): number => keyedSize(d.key, d.delta),
  summary: (s: Summary): number => keyedSize(s.key, s.summary),
  lacking: (key: string): number => encode(key).length + 3,
  rangeFp: (r: RangeFp): number => encode([...boundsWire(r.lo, r.hi, ''), [], [r.count], r.fp]).length,
  rangeItems: (r: RangeItems): number => encode(rangesWire([r], itemFields)[0]).length,
  rangeSums: (r: RangeSums): number => encode(rangesWire([r], sumFields)[0]).length
}

/** Encoded size of the contract table of a list holding all of `items` (an upper bound for any part of it). */
export function refsSize (items: ReadonlyArray<{ key: string, contract: BoundRef }>): number {
  return encode(keyedWire(items.map(d => ({ key: d.key, contract: d.contract, value: null })))[0]).length
}

/** Room for the headers of lists growing from 0 to any length (≤ 5 bytes each, three lists at most). */
const LIST_HEADER_SLACK = 16

/**
 * Splits `entries` into parts such that a message built from one part (whose
 * encoding with no entries is `emptyBytes` long) stays within `maxBytes`.
 * Entries too large to fit any message come back in `oversize`. A part holds
 * at most `maxCount` entries.
 */
export function chunk<T> (entries: readonly T[], sizeOf: (t: T) => number, emptyBytes: number, maxBytes: number, maxCount = Infinity): { parts: T[][], oversize: T[] } {
  const room = maxBytes - emptyBytes - LIST_HEADER_SLACK
  const parts: T[][] = []
  const oversize: T[] = []
  let part: T[] = []
  let used = 0
  for (const e of entries) {
    const size = sizeOf(e)
    if (size > room) { oversize.push(e); continue }
    if (used + size > room || part.length >= maxCount) { parts.push(part); part = []; used = 0 }
    part.push(e)
    used += size
  }
  if (part.length > 0) parts.push(part)
  return { parts, oversize }
}

// ---- decoding ------------------------------------------------------------------------------

/** Decodes and validates one message, or throws ProtocolError. */
export function decodeMessage (bytes: Uint8Array): Message {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('malformed', 'message is not a byte array')
  if (bytes.length > MAX_WIRE_BYTES) throw new ProtocolError('too_large', `message is ${bytes.length} bytes, over the ${MAX_WIRE_BYTES}-byte limit`)
  let v: Plain
  try {
    v = decode(bytes, { maxBytes: MAX_WIRE_BYTES })
  } catch (err) {
    throw new ProtocolError('malformed', `not canonical-safe CBOR: ${(err as Error).message}`)
  }
  canonicalOnly(bytes, v)
  try {
    return fromWire(v)
  } catch (err) {
    if (err instanceof ProtocolError) throw err
    throw new ProtocolError('bad_field', `message is malformed: ${(err as Error)?.message}`)
  }
}

/**
 * Refuses a second encoding of a value (an integer or length in a longer form than it needs, a float
 * for an integer, map keys out of order): each message has one byte form (PROTOCOL.md §1), so equal
 * messages hash alike and no peer's parser can be told one thing by bytes another reads differently.
 * Re-encoding is exact whatever forms the encoder picks; it adds about half to decoding (7 ms for a
 * 235 KB push), less than the merge of what the message carries.
 */
function canonicalOnly (bytes: Uint8Array, v: Plain): void {
  let again: Uint8Array
  try {
    again = encode(v)
  } catch (err) {
    throw new ProtocolError('malformed', `not canonical CBOR: ${(err as Error).message}`)
  }
  if (again.length === bytes.length && Buffer.compare(again, bytes) === 0) return
  let at = 0
  while (at < again.length && at < bytes.length && again[at] === bytes[at]) at++
  throw new ProtocolError('malformed', `not canonical CBOR: byte ${at} differs from the canonical encoding (shortest integer and length forms, sorted map keys)`)
}

function fromWire (v: Plain): Message {
  if (!Array.isArray(v) || v.length < 2) throw new ProtocolError('malformed', 'message must be an array [version, type, ...fields]')
  if (v[0] !== PROTOCOL_VERSION) throw versionError(v[0])
  const n = v[1]
  const type = typeof n === 'number' && Number.isInteger(n) ? typeOfNumber(n) : undefined
  if (type === undefined) throw new ProtocolError('unknown_type', `unknown message type ${short(n)}`)
  const f = v.slice(2)
  const arity = (k: number): void => {
    if (f.length !== k) throw new ProtocolError('bad_field', `"${type}" (type ${n as number}) takes ${k} fields after the type, got ${f.length}`)
  }
  switch (type) {
    case 'push':
      arity(2)
      return { type, items: deltaItems(f[0], f[1]) }
    case 'digest': {
      if (f.length !== 2 && f.length !== 3) arity(1)
      const d = { type, fp: bytes(f[0], HASH_BYTES, 'digest fingerprint', 1) }
      if (f.length === 2) return { ...d, was: bytes(f[1], HASH_BYTES, 'digest fingerprint (was)', 1) }
      if (f.length === 1) return d
      // [fp, was | null, true]: a partial peer's digest; a false flag would have two encodings.
      if (f[2] !== true) throw new ProtocolError('bad_field', `digest partial flag must be true when present, got ${short(f[2])}`)
      return f[1] === null ? { ...d, partial: true } : { ...d, was: bytes(f[1], HASH_BYTES, 'digest fingerprint (was)', 1), partial: true }
    }
    case 'ranges':
      arity(5)
      return {
        type,
        sid: sid(f[0]),
        seq: uint(f[1], 'seq'),
        fps: rangeList(f[2], 'range fingerprints', 7, splitFps).flat(),
        items: rangeList(f[3], 'range item lists', 6, rangeItems),
        sums: rangeList(f[4], 'range summary lists', 6, rangeSums)
      }
    case 'sums':
      arity(6)
      return { type, sid: sid(f[0]), seq: uint(f[1], 'seq'), reply: bool(f[2], 'reply flag'), sums: summaries(f[3], f[4]), lacking: keyList(f[5], 'lacking keys', Infinity) }
    case 'deltas':
      arity(5)
      return { type, sid: sid(f[0]), seq: uint(f[1], 'seq'), check: bool(f[2], 'check flag'), items: deltaItems(f[3], f[4]) }
    case 'ack': {
      arity(4)
      const h = bytes(f[3], ACK_HASH_BYTES, 'acked hashes')
      const hashes = Array.from({ length: h.length / ACK_HASH_BYTES }, (_, i) => slice(h, i, ACK_HASH_BYTES))
      return { type, sid: sid(f[0]), re: uint(f[1], 'acked seq'), spawned: list(f[2], 'spawned seqs', x => uint(x, 'spawned seq')), hashes }
    }
    case 'want': {
      arity(1)
      const keys = keyList(f[0], 'wanted keys', MAX_RANGE_ITEMS)
      if (keys.length === 0) throw new ProtocolError('bad_field', 'a want names at least one key')
      ascendingIn(keys, '', null)
      return { type, keys }
    }
    case 'scope':
      arity(1)
      return { type, fp: bytes(f[0], HASH_BYTES, 'scope fingerprint', 1) }
    case 'writes': {
      arity(3)
      const items = deltaItems(f[0], f[1])
      return { type, items, writes: writesList(f[2], items.length) }
    }
    case 'salted':
      arity(4)
      return { type, sid: sid(f[0]), seq: uint(f[1], 'seq'), salt: bytes(f[2], SALT_BYTES, 'salt', 1), lists: saltedLists(f[3]) }
  }
}

/** The refusal of another version; version 2 is named, since its peers are the ones a rolling upgrade leaves behind. */
export function versionError (v: Plain): ProtocolError {
  const why = v === 2 ? ': version 2 digests are XORs of item hashes, which a writer of many keys can make collide; upgrade the peer' : ''
  return new ProtocolError('bad_version', `protocol version ${short(v)} is not supported (this peer speaks ${PROTOCOL_VERSION})${why}`)
}

function deltaItems (refsX: Plain, flatX: Plain): DeltaItem[] {
  return keyedList(refsX, flatX, 'delta items').map(k => ({ key: k.key, contract: k.contract, delta: k.value }))
}

function summaries (refsX: Plain, flatX: Plain): Summary[] {
  return keyedList(refsX, flatX, 'summaries').map(k => ({ key: k.key, contract: k.contract, summary: k.value }))
}

/** A list of ranges of `n` fields each, their bounds front-coded one after another (see rangesWire). */
function rangeList<T> (x: Plain, what: string, n: number, entry: (lo: string, hi: string | null, fields: Plain[]) => T): T[] {
  let prev = ''
  return list(x, what, e => {
    const [lo, hi] = boundsAt(tuple(e, n, what), prev)
    prev = hi ?? lo
    return entry(lo, hi, (e as Plain[]).slice(4))
  })
}

function splitFps (lo: string, hi: string | null, [boundsX, countsX, fpsX]: Plain[]): RangeFp[] {
  const bounds = keyList(boundsX, 'split bounds', Infinity, lo, false)
  const edges = [lo, ...bounds]
  edges.forEach((b, i) => { if (i > 0 && (b <= edges[i - 1] || (hi !== null && b >= hi))) throw badBound(b) })
  const counts = list(countsX, 'range counts', c => uint(c, 'range count'))
  if (counts.length !== edges.length) throw new ProtocolError('bad_field', `range counts: ${counts.length} for ${edges.length} ranges`)
  const fps = bytes(fpsX, RANGE_FP_BYTES, 'range fingerprints', edges.length)
  return edges.map((b, i) => ({ lo: b, hi: i + 1 < edges.length ? edges[i + 1] : hi, count: counts[i], fp: slice(fps, i, RANGE_FP_BYTES) }))
}

function badBound (b: string): ProtocolError {
  return new ProtocolError('bad_field', `split bounds must ascend strictly inside the range: ${short(b)}`)
}

function rangeItems (lo: string, hi: string | null, [keysX, hashesX]: Plain[]): RangeItems {
  const keys = keyList(keysX, 'item list', MAX_RANGE_ITEMS, lo)
  ascendingIn(keys, lo, hi)
  const hashes = bytes(hashesX, ITEM_HASH_BYTES, 'item hashes', keys.length)
  return { lo, hi, items: keys.map((k, i) => [k, slice(hashes, i, ITEM_HASH_BYTES)]) }
}

/**
 * Salted lists: ranges that ascend without overlapping, and at most MAX_SALTED_KEYS keys in all, so a
 * message costs its receiver at most one walk over its keys and MAX_SALTED_KEYS hashes.
 */
function saltedLists (x: Plain): RangeItems[] {
  const lists = rangeList(x, 'salted lists', 6, saltedItems)
  let keys = 0
  lists.forEach((r, i) => {
    keys += r.items.length
    const prev = lists[i - 1]
    if (prev !== undefined && (prev.hi === null || r.lo < prev.hi)) throw new ProtocolError('bad_field', `salted lists must ascend without overlapping: ${short(r.lo)}`)
  })
  if (keys > MAX_SALTED_KEYS) throw new ProtocolError('bad_field', `salted lists hold ${keys} keys, over ${MAX_SALTED_KEYS}`)
  return lists
}

function saltedItems (lo: string, hi: string | null, [keysX, hashesX]: Plain[]): RangeItems {
  const keys = keyList(keysX, 'salted list', MAX_RANGE_ITEMS, lo)
  ascendingIn(keys, lo, hi)
  const hashes = bytes(hashesX, SALTED_HASH_BYTES, 'salted hashes', keys.length)
  return { lo, hi, items: keys.map((k, i) => [k, slice(hashes, i, SALTED_HASH_BYTES)]) }
}

function rangeSums (lo: string, hi: string | null, [refsX, flatX]: Plain[]): RangeSums {
  const sums = summaries(refsX, flatX)
  if (sums.length > MAX_RANGE_ITEMS) throw new ProtocolError('bad_field', `summary list holds ${sums.length} entries, over ${MAX_RANGE_ITEMS}`)
  ascendingIn(sums.map(s => s.key), lo, hi)
  return { lo, hi, sums }
}
