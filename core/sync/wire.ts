/**
 * The wire forms of the fields messages are made of (PROTOCOL.md §1), each
 * with its strict decoder: contract refs, session ids, key lists and keyed
 * lists. Lists of keys are front-coded — each key is the previous one's first
 * `p` UTF-16 units plus a suffix — because the keys a message carries are
 * sorted neighbours that share most of their prefix; and a list's items name
 * their contract by index into one table, omitted when the table holds one.
 */
import { type Plain, canonicalKey } from '../codec.ts'
import { type JsonObject, isPlainObject, jsonProblem } from '../json.ts'
import { preview } from '../preview.ts'
import { MAX_KEY_BYTES } from '../key-layout.ts'
import { CONTRACT_ID, CONTRACT_VERSION, VERSION_SEPARATOR } from '../registry.ts'
import type { BoundRef } from '../subscription.ts'

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
/** A key with its contract and a value (a delta, a state or a summary). */
export interface Keyed { key: string, contract: BoundRef, value: Plain }

// ---- encoders ----------------------------------------------------------------------------------

/**
 * How a binding's contract is named on the wire and in counters: its id, or `id::version` for a versioned
 * contract. The versioned name is itself a valid contract id, and no contract may register with "::" in
 * its id, so a peer that knows nothing of versions reads it as a contract it lacks: counted, not merged,
 * and not a malformed message (PROTOCOL.md §1, `ref`).
 */
export function contractName (ref: BoundRef): string {
  return ref.version === undefined ? ref.id : ref.id + VERSION_SEPARATOR + ref.version
}

export function refWire (ref: BoundRef): Plain {
  const name = contractName(ref)
  return ref.params === undefined || Object.keys(ref.params).length === 0 ? name : [name, ref.params]
}

/** A session id as one uint: 2n, plus 1 when the sender is the initiator. */
export function sidWire (s: SessionId): number { return s.n * 2 + (s.fromInitiator ? 1 : 0) }

/** UTF-16 units `key` shares with `prev`, never splitting a surrogate pair (the suffix must be valid text). */
function sharedPrefix (prev: string, key: string): number {
  const max = Math.min(prev.length, key.length)
  let p = 0
  while (p < max && prev.charCodeAt(p) === key.charCodeAt(p)) p++
  if (p > 0 && p < key.length) {
    const c = key.charCodeAt(p - 1)
    if (c >= 0xd800 && c <= 0xdbff) p--
  }
  return p
}

/** Front-coded keys: `[p1, suffix1, p2, suffix2, ...]`, each key relative to the one before (the first to `first`). */
export function keysWire (keys: readonly string[], first = ''): Plain[] {
  const out: Plain[] = []
  let prev = first
  for (const k of keys) {
    const p = sharedPrefix(prev, k)
    out.push(p, k.slice(p))
    prev = k
  }
  return out
}

/**
 * A range's bounds as 4 fields `[p, loSuffix, q, hiSuffix]`: lo front-coded against `prev` (the bound
 * before it in the list), hi against lo; hiSuffix null (and q 0) for the end of the key space.
 */
export function boundsWire (lo: string, hi: string | null, prev: string): Plain[] {
  const p = sharedPrefix(prev, lo)
  if (hi === null) return [p, lo.slice(p), 0, null]
  const q = sharedPrefix(lo, hi)
  return [p, lo.slice(p), q, hi.slice(q)]
}

/** A keyed list: `[refs, [p, suffix, (refIndex,) value, ...]]`; the ref index is left out when `refs` has one entry. */
export function keyedWire (items: readonly Keyed[]): [Plain[], Plain[]] {
  const refs: Plain[] = []
  const index = new Map<string, number>()
  const at = items.map(d => {
    const r = refWire(d.contract)
    const k = canonicalKey(r)
    let i = index.get(k)
    if (i === undefined) { i = refs.length; index.set(k, i); refs.push(r) }
    return i
  })
  const keys = keysWire(items.map(d => d.key))
  const flat: Plain[] = []
  items.forEach((d, i) => {
    flat.push(keys[2 * i], keys[2 * i + 1])
    if (refs.length > 1) flat.push(at[i])
    flat.push(d.value)
  })
  return [refs, flat]
}

// ---- decoders ----------------------------------------------------------------------------------

export function bad (what: string, x: unknown): ProtocolError {
  return new ProtocolError('bad_field', `${what} is malformed: ${short(x)}`)
}

export function short (x: unknown): string {
  if (x instanceof Uint8Array) return `${x.length} bytes`
  return preview(x, 60)
}

export function tuple (x: Plain, n: number, what: string): Plain[] {
  if (!Array.isArray(x) || x.length !== n) throw bad(what, x)
  return x
}

export function list<T> (x: Plain, what: string, item: (x: Plain) => T): T[] {
  if (!Array.isArray(x)) throw bad(what, x)
  return x.map(item)
}

export function uint (x: Plain, what: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw bad(what, x)
  return x
}

export function bool (x: Plain, what: string): boolean {
  if (typeof x !== 'boolean') throw bad(what, x)
  return x
}

/** A byte string of exactly `n` bytes per entry (`count` entries, or any whole number when undefined). */
export function bytes (x: Plain, n: number, what: string, count?: number): Uint8Array {
  if (!(x instanceof Uint8Array) || x.length % n !== 0 || (count !== undefined && x.length !== n * count)) throw bad(`${what} (${n} bytes each)`, x)
  return new Uint8Array(x.buffer, x.byteOffset, x.length) // a plain Uint8Array view (the decoder's copy)
}

/** The i-th n-byte slice of `b`. */
export function slice (b: Uint8Array, i: number, n: number): Uint8Array {
  return b.subarray(i * n, (i + 1) * n)
}

const textEncoder = new TextEncoder()

export function key (x: Plain): string {
  if (typeof x !== 'string' || x.length === 0 || !x.isWellFormed() || textEncoder.encode(x).length > MAX_KEY_BYTES) throw bad('key', x)
  return x
}

/** A range bound: any text up to a key's length ('' is the start of the key space). */
export function bound (x: Plain): string {
  if (typeof x !== 'string' || !x.isWellFormed() || textEncoder.encode(x).length > MAX_KEY_BYTES) throw bad('range bound', x)
  return x
}

export function range (loX: Plain, hiX: Plain): [string, string | null] {
  const lo = bound(loX)
  const hi = hiX === null ? null : bound(hiX)
  if (hi !== null && !(lo < hi)) throw bad('range (lo must sort before hi)', [lo, hi])
  return [lo, hi]
}

export function sid (x: Plain): SessionId {
  const v = uint(x, 'session id')
  return { n: Math.floor(v / 2), fromInitiator: v % 2 === 1 }
}

export function ref (x: Plain): BoundRef {
  if (typeof x === 'string') {
    if (!CONTRACT_ID.test(x)) throw bad('contract id', x)
    return named(x)
  }
  const [id, params] = tuple(x, 2, 'contract ref')
  if (typeof id !== 'string' || !CONTRACT_ID.test(id)) throw bad('contract id', id)
  // Parameters travel only when there are some, so a binding has one wire form.
  if (!isPlainObject(params) || Object.keys(params).length === 0 || jsonProblem(params) !== undefined) throw bad('contract params', params)
  return { ...named(id), params: params as JsonObject }
}

/**
 * The binding a contract name stands for (see contractName): `id::version` when it splits into a
 * registrable id and a version, else the whole name as an id. Any valid id decodes, as before versions:
 * one that does not split (`a::b::c`) names no contract a peer can register, so it stays unknown.
 */
function named (name: string): BoundRef {
  const at = name.indexOf(VERSION_SEPARATOR)
  if (at < 0) return { id: name }
  const id = name.slice(0, at)
  const version = name.slice(at + VERSION_SEPARATOR.length)
  return CONTRACT_ID.test(id) && CONTRACT_VERSION.test(version) ? { id, version } : { id: name }
}

/** Reads a front-coded key from `flat` at `i` (relative to `prev`); `asKey`: a store key (non-empty), else a range bound. */
function frontCoded (flat: Plain[], i: number, prev: string, asKey: boolean): string {
  const p = flat[i]; const suffix = flat[i + 1]
  if (typeof p !== 'number' || !Number.isSafeInteger(p) || p < 0 || p > prev.length || typeof suffix !== 'string') throw bad('front-coded key', [p, suffix])
  const k = prev.slice(0, p) + suffix
  return asKey ? key(k) : bound(k)
}

/** The bounds of a range from its first 4 fields (see boundsWire). */
export function boundsAt (x: Plain[], prev: string): [string, string | null] {
  const lo = frontCoded(x, 0, prev, false)
  if (x[3] === null) {
    if (x[2] !== 0) throw bad('range end', x[2])
    return range(lo, null)
  }
  return range(lo, frontCoded(x, 2, lo, false))
}

/** Front-coded keys (see keysWire); at most `max` of them. */
export function keyList (x: Plain, what: string, max: number, first = '', asKey = true): string[] {
  if (!Array.isArray(x) || x.length % 2 !== 0 || x.length / 2 > max) throw bad(`${what} (at most ${max} front-coded keys)`, x)
  const out: string[] = []
  let prev = first
  for (let i = 0; i < x.length; i += 2) out.push(prev = frontCoded(x, i, prev, asKey))
  return out
}

export function keyedList (refsX: Plain, flatX: Plain, what: string): Keyed[] {
  const refs = list(refsX, 'contract table', ref)
  const width = refs.length > 1 ? 4 : 3
  if (!Array.isArray(flatX) || flatX.length % width !== 0 || (refs.length === 0 && flatX.length > 0)) throw bad(what, flatX)
  const out: Keyed[] = []
  let prev = ''
  for (let i = 0; i < flatX.length; i += width) {
    prev = frontCoded(flatX, i, prev, true)
    const r = width === 4 ? flatX[i + 2] : 0
    if (typeof r !== 'number' || !Number.isSafeInteger(r) || r < 0 || r >= refs.length) throw bad('contract index', r)
    out.push({ key: prev, contract: refs[r], value: flatX[i + width - 1] })
  }
  return out
}

/** Keys strictly ascending inside [lo, hi): the receiver walks such a list beside its own. */
export function ascendingIn (keys: readonly string[], lo: string, hi: string | null): void {
  keys.forEach((k, i) => {
    if (k < lo || (hi !== null && k >= hi) || (i > 0 && k <= keys[i - 1])) throw bad('list order (keys ascending inside the range)', k)
  })
}
