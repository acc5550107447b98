/**
 * The sync protocol's wire format (PROTOCOL.md describes it byte by byte).
 * Every message is one canonical CBOR array `[1, type, ...fields]`; 1 is the
 * protocol version. Each type has one encoder and one strict decoder: bytes
 * from the network are untrusted, and anything off (version, type, arity,
 * field types, sizes, order) is a ProtocolError, never another exception.
 * Contract states and summaries inside messages are left to the contracts to
 * validate when they are merged or compared.
 */
import { type Plain, DEFAULT_MAX_BYTES, canonicalKey, decode, encode } from '../codec.ts'
import { type JsonObject, isPlainObject, jsonProblem } from '../json.ts'
import { MAX_KEY_BYTES } from '../key-layout.ts'
import { CONTRACT_ID } from '../registry.ts'
import type { BoundRef } from '../subscription.ts'
import { HASH_BYTES } from './key-index.ts'

export const PROTOCOL_VERSION = 1
/** No peer may emit a message over 1 MiB (gossipsub frames fail past 4 MiB); receivers allow a little slack. */
export const MAX_MESSAGE_BYTES = DEFAULT_MAX_BYTES
export const MAX_WIRE_BYTES = MAX_MESSAGE_BYTES + 1024
/** A range is answered with its item list when the answering side holds at most this many keys in it. */
export const MAX_RANGE_ITEMS = 16

export type ProtocolErrorCode = 'malformed' | 'too_large' | 'bad_version' | 'unknown_type' | 'bad_field'

/** Bytes that are not a valid message of this protocol version. */
export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode
  constructor (code: ProtocolErrorCode, message: string) {
    super(message)
    this.name = 'ProtocolError'
    this.code = code
  }
}

/** A session: the initiator's counter, and whether the sender of this message is the initiator. */
export interface SessionId { n: number, fromInitiator: boolean }
export interface DeltaItem { key: string, contract: BoundRef, delta: Plain }
/**
 * A pushed delta: what the key gained since the sender's state `base` (its item hash), so it is
 * merged only by a peer whose state includes `base`; null: relative to nothing, merge anywhere.
 */
export interface PushItem extends DeltaItem { base: Uint8Array | null }
export interface RangeFp { lo: string, hi: string | null, count: number, fp: Uint8Array }
export interface RangeItems { lo: string, hi: string | null, items: Array<[key: string, hash: Uint8Array]> }
/** Like an item list, with the summaries themselves: cheaper when they are smaller than hashes, and it saves a round trip. */
export interface RangeSums { lo: string, hi: string | null, sums: Array<{ key: string, contract: BoundRef, summary: Plain }> }
/** `contract` null: the sender does not hold the key (then `summary` is null too). */
export interface SumItem { key: string, contract: BoundRef | null, summary: Plain }
/** Acks carry 8-byte prefixes of item hashes: enough to notice a difference (a miss only delays repair to the next round). */
export const ACK_HASH_BYTES = 8

export type Message =
  | { type: 'push', items: PushItem[] }
  | { type: 'digest', count: number, fp: Uint8Array }
  | { type: 'ranges', sid: SessionId, seq: number, fps: RangeFp[], items: RangeItems[], sums: RangeSums[] }
  | { type: 'sums', sid: SessionId, seq: number, reply: boolean, sums: SumItem[] }
  | { type: 'deltas', sid: SessionId, seq: number, items: DeltaItem[] }
  /** `hashes`: for an acked `deltas`, one ACK_HASH_BYTES prefix per distinct key of it, in order (zeros: not held); else empty. */
  | { type: 'ack', sid: SessionId, re: number, spawned: number[], hashes: Uint8Array[] }

export type MessageType = Message['type']
export const MESSAGE_TYPES: readonly MessageType[] = ['push', 'digest', 'ranges', 'sums', 'deltas', 'ack']

// ---- field encoders: the wire form of each part -------------------------------------------

export function refWire (ref: BoundRef): Plain {
  return ref.params === undefined || Object.keys(ref.params).length === 0 ? ref.id : [ref.id, ref.params]
}
/** A delta item's canonical form, independent of any message: what dedup hashes. */
export function deltaItemWire (d: DeltaItem): Plain { return [d.key, refWire(d.contract), d.delta] }
/** Delta lists name each contract once: `[refs, [[key, index into refs, delta, (base)], ...]]` (push items add their base). */
function deltaListWire (items: ReadonlyArray<DeltaItem | PushItem>): [Plain[], Plain[]] {
  const refs: Plain[] = []
  const index = new Map<string, number>()
  const entries = items.map(d => {
    const r = refWire(d.contract)
    const k = canonicalKey(r)
    let i = index.get(k)
    if (i === undefined) { i = refs.length; index.set(k, i); refs.push(r) }
    return 'base' in d ? [d.key, i, d.delta, d.base] : [d.key, i, d.delta]
  })
  return [refs, entries]
}
function sidWire (s: SessionId): Plain { return [s.n, s.fromInitiator] }
function rangeFpWire (r: RangeFp): Plain { return [r.lo, r.hi, r.count, r.fp] }
function rangeItemsWire (r: RangeItems): Plain { return [r.lo, r.hi, r.items] }
function rangeSumsWire (r: RangeSums): Plain {
  const [refs, entries] = deltaListWire(r.sums.map(s => ({ key: s.key, contract: s.contract, delta: s.summary })))
  return [r.lo, r.hi, refs, entries]
}
function sumWire (s: SumItem): Plain { return [s.key, s.contract === null ? null : refWire(s.contract), s.summary] }
function ackHashesWire (hashes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * ACK_HASH_BYTES)
  hashes.forEach((h, i) => { out.set(h.subarray(0, ACK_HASH_BYTES), i * ACK_HASH_BYTES) })
  return out
}

function toWire (m: Message): Plain {
  const v = PROTOCOL_VERSION
  switch (m.type) {
    case 'push': return [v, m.type, ...deltaListWire(m.items)]
    case 'digest': return [v, m.type, m.count, m.fp]
    case 'ranges': return [v, m.type, sidWire(m.sid), m.seq, m.fps.map(rangeFpWire), m.items.map(rangeItemsWire), m.sums.map(rangeSumsWire)]
    case 'sums': return [v, m.type, sidWire(m.sid), m.seq, m.reply, m.sums.map(sumWire)]
    case 'deltas': return [v, m.type, sidWire(m.sid), m.seq, ...deltaListWire(m.items)]
    case 'ack': return [v, m.type, sidWire(m.sid), m.re, m.spawned, ackHashesWire(m.hashes)]
  }
}

/** The canonical bytes of a message. Does not check the size: chunk first (see `chunk`). */
export function encodeMessage (m: Message): Uint8Array {
  return encode(toWire(m))
}

/** Encoded sizes of the parts messages are chunked by. */
export const entrySize = {
  /** In a delta list; the contract is counted apart (see `refsSize`), its index at 2 bytes. */
  deltaItem: (d: DeltaItem): number => encode([d.key, 0, d.delta]).length + 1,
  pushItem: (d: PushItem): number => encode([d.key, 0, d.delta, d.base]).length + 1,
  rangeFp: (r: RangeFp): number => encode(rangeFpWire(r)).length,
  rangeItems: (r: RangeItems): number => encode(rangeItemsWire(r)).length,
  rangeSums: (r: RangeSums): number => encode(rangeSumsWire(r)).length,
  sum: (s: SumItem): number => encode(sumWire(s)).length
}

/** Encoded size of the contract table of a delta list holding all of `items` (an upper bound for any part of it). */
export function refsSize (items: readonly DeltaItem[]): number {
  return encode(deltaListWire(items)[0]).length
}

/** Room for the array headers of entry lists growing from 0 to any length (≤ 5 bytes each, two lists at most). */
const LIST_HEADER_SLACK = 8

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
  try {
    return fromWire(v)
  } catch (err) {
    if (err instanceof ProtocolError) throw err
    throw new ProtocolError('bad_field', `message is malformed: ${(err as Error)?.message}`)
  }
}

function fromWire (v: Plain): Message {
  if (!Array.isArray(v) || v.length < 2) throw new ProtocolError('malformed', 'message must be an array [version, type, ...fields]')
  if (v[0] !== PROTOCOL_VERSION) throw new ProtocolError('bad_version', `protocol version ${short(v[0])} is not supported (this peer speaks ${PROTOCOL_VERSION})`)
  const type = v[1]
  const f = v.slice(2)
  switch (type) {
    case 'push':
      arity(type, f, 2)
      return { type, items: pushList(f[0], f[1]) }
    case 'digest':
      arity(type, f, 2)
      return { type, count: uint(f[0], 'digest count'), fp: hash(f[1], 'digest fingerprint') }
    case 'ranges':
      arity(type, f, 5)
      return {
        type,
        sid: sid(f[0]),
        seq: uint(f[1], 'seq'),
        fps: list(f[2], 'range fingerprints', rangeFp),
        items: list(f[3], 'range item lists', rangeItems),
        sums: list(f[4], 'range summary lists', rangeSums)
      }
    case 'sums':
      arity(type, f, 4)
      return { type, sid: sid(f[0]), seq: uint(f[1], 'seq'), reply: bool(f[2], 'reply flag'), sums: list(f[3], 'summaries', sumItem) }
    case 'deltas':
      arity(type, f, 4)
      return { type, sid: sid(f[0]), seq: uint(f[1], 'seq'), items: deltaList(f[2], f[3]) }
    case 'ack':
      arity(type, f, 4)
      return { type, sid: sid(f[0]), re: uint(f[1], 'acked seq'), spawned: list(f[2], 'spawned seqs', x => uint(x, 'spawned seq')), hashes: ackHashes(f[3]) }
    default:
      throw new ProtocolError('unknown_type', `unknown message type ${short(type)}`)
  }
}

function bad (what: string, x: unknown): ProtocolError {
  return new ProtocolError('bad_field', `${what} is malformed: ${short(x)}`)
}

function short (x: unknown): string {
  if (x instanceof Uint8Array) return `${x.length} bytes`
  let s: string
  try { s = JSON.stringify(x) ?? String(x) } catch { s = typeof x }
  return s.length > 60 ? s.slice(0, 57) + '...' : s
}

function arity (type: string, fields: Plain[], n: number): void {
  if (fields.length !== n) throw new ProtocolError('bad_field', `"${type}" takes ${n} fields after the type, got ${fields.length}`)
}

function tuple (x: Plain, n: number, what: string): Plain[] {
  if (!Array.isArray(x) || x.length !== n) throw bad(what, x)
  return x
}

function list<T> (x: Plain, what: string, item: (x: Plain) => T): T[] {
  if (!Array.isArray(x)) throw bad(what, x)
  return x.map(item)
}

function uint (x: Plain, what: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw bad(what, x)
  return x
}

function bool (x: Plain, what: string): boolean {
  if (typeof x !== 'boolean') throw bad(what, x)
  return x
}

function hash (x: Plain, what: string): Uint8Array {
  if (!(x instanceof Uint8Array) || x.length !== HASH_BYTES) throw bad(what, x)
  return new Uint8Array(x.buffer, x.byteOffset, x.length) // a plain Uint8Array view (the decoder's copy)
}

const textEncoder = new TextEncoder()

function key (x: Plain): string {
  if (typeof x !== 'string' || x.length === 0 || textEncoder.encode(x).length > MAX_KEY_BYTES) throw bad('key', x)
  return x
}

/** A range bound: any text up to a key's length ('' is the start of the key space). */
function bound (x: Plain): string {
  if (typeof x !== 'string' || textEncoder.encode(x).length > MAX_KEY_BYTES) throw bad('range bound', x)
  return x
}

function range (loX: Plain, hiX: Plain): [string, string | null] {
  const lo = bound(loX)
  const hi = hiX === null ? null : bound(hiX)
  if (hi !== null && !(lo < hi)) throw bad('range (lo must sort before hi)', [lo, hi])
  return [lo, hi]
}

function sid (x: Plain): SessionId {
  const [n, from] = tuple(x, 2, 'session id')
  return { n: uint(n, 'session number'), fromInitiator: bool(from, 'session initiator flag') }
}

export function ref (x: Plain): BoundRef {
  if (typeof x === 'string') {
    if (!CONTRACT_ID.test(x)) throw bad('contract id', x)
    return { id: x }
  }
  const [id, params] = tuple(x, 2, 'contract ref')
  if (typeof id !== 'string' || !CONTRACT_ID.test(id)) throw bad('contract id', id)
  // Parameters travel only when there are some, so a binding has one wire form.
  if (!isPlainObject(params) || Object.keys(params).length === 0 || jsonProblem(params) !== undefined) throw bad('contract params', params)
  return { id, params: params as JsonObject }
}

function deltaList (refsX: Plain, itemsX: Plain): DeltaItem[] {
  const refs = list(refsX, 'contract table', ref)
  return list(itemsX, 'delta items', x => {
    const [k, i, delta] = tuple(x, 3, 'delta item')
    return { key: key(k), contract: refs[refIndex(i, refs.length)], delta }
  })
}

function pushList (refsX: Plain, itemsX: Plain): PushItem[] {
  const refs = list(refsX, 'contract table', ref)
  return list(itemsX, 'push items', x => {
    const [k, i, delta, base] = tuple(x, 4, 'push item')
    return { key: key(k), contract: refs[refIndex(i, refs.length)], delta, base: base === null ? null : hash(base, 'push base') }
  })
}

function refIndex (i: Plain, n: number): number {
  if (typeof i !== 'number' || !Number.isSafeInteger(i) || i < 0 || i >= n) throw bad('contract index', i)
  return i
}

function rangeFp (x: Plain): RangeFp {
  const [lo, hi, count, fp] = tuple(x, 4, 'range fingerprint')
  const [l, h] = range(lo, hi)
  return { lo: l, hi: h, count: uint(count, 'range count'), fp: hash(fp, 'range fingerprint') }
}

function rangeItems (x: Plain): RangeItems {
  const [lo, hi, items] = tuple(x, 3, 'range item list')
  const [l, h] = range(lo, hi)
  if (!Array.isArray(items) || items.length > MAX_RANGE_ITEMS) throw bad(`item list (at most ${MAX_RANGE_ITEMS} items)`, items)
  const keys = ascendingKeys(items.map(it => tuple(it, 2, 'item')[0]), l, h)
  return { lo: l, hi: h, items: items.map((it, i) => [keys[i], hash((it as Plain[])[1], 'item hash')]) }
}

function rangeSums (x: Plain): RangeSums {
  const [lo, hi, refsX, entries] = tuple(x, 4, 'range summary list')
  const [l, h] = range(lo, hi)
  if (!Array.isArray(entries) || entries.length > MAX_RANGE_ITEMS) throw bad(`summary list (at most ${MAX_RANGE_ITEMS} items)`, entries)
  const items = deltaList(refsX, entries)
  ascendingKeys(items.map(d => d.key), l, h)
  return { lo: l, hi: h, sums: items.map(d => ({ key: d.key, contract: d.contract, summary: d.delta })) }
}

/** Keys strictly ascending inside [lo, hi): the receiver walks such a list beside its own. */
function ascendingKeys (xs: Plain[], lo: string, hi: string | null): string[] {
  const out: string[] = []
  for (const x of xs) {
    const k = key(x)
    if (k < lo || (hi !== null && k >= hi) || (out.length > 0 && k <= out[out.length - 1])) throw bad('list order (keys ascending inside the range)', k)
    out.push(k)
  }
  return out
}

function sumItem (x: Plain): SumItem {
  const [k, r, summary] = tuple(x, 3, 'summary item')
  if (r === null) {
    if (summary !== null) throw bad('summary of a key the sender lacks (must be null)', summary)
    return { key: key(k), contract: null, summary: null }
  }
  return { key: key(k), contract: ref(r), summary }
}

function ackHashes (x: Plain): Uint8Array[] {
  if (!(x instanceof Uint8Array) || x.length % ACK_HASH_BYTES !== 0) throw bad(`acked hashes (${ACK_HASH_BYTES} bytes each)`, x)
  const out: Uint8Array[] = []
  for (let i = 0; i < x.length; i += ACK_HASH_BYTES) out.push(new Uint8Array(x.buffer, x.byteOffset + i, ACK_HASH_BYTES))
  return out
}
