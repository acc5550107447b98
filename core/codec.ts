/**
 * The canonical codec. `encode` gives identical bytes for equal values (map keys
 * sorted as RFC 8949 §4.2.1 orders them, -0 folded into 0), so states and
 * summaries compare by hash across peers. `decode` is for untrusted bytes: the
 * input is first walked by `scan` below, which checks every header without
 * allocating, and only well-formed, bounded, tag-free CBOR reaches cbor-x.
 * The encoder accepts only what the decoder accepts: a string with a lone
 * surrogate has no UTF-8 form, so it is refused rather than written as bytes
 * that no decoder reads back (a merged value must never make a key unreadable).
 */
import { Encoder, Decoder } from 'cbor-x'
import { createHash } from 'node:crypto'
import { CodecError } from './errors.ts'
import { MAX_DEPTH } from './json.ts'

/** A value the codec can carry: JSON plus byte strings. */
export type Plain = null | boolean | number | string | Uint8Array | Plain[] | { [key: string]: Plain }

export interface DecodeLimits {
  /** Refuse inputs larger than this many bytes before looking inside (default 1 MiB). */
  maxBytes?: number
  /** Refuse arrays or maps nested deeper than this (default 64). */
  maxDepth?: number
  /** Refuse an array or map declaring more items than this (default 1,000,000). */
  maxItems?: number
}

export const DEFAULT_MAX_BYTES = 1024 * 1024
const DEFAULT_MAX_ITEMS = 1_000_000

const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, variableMapSize: true, tagUint8Array: false, useFloat32: 0 } as ConstructorParameters<typeof Encoder>[0])
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true, copyBuffers: true, int64AsType: 'number' } as ConstructorParameters<typeof Decoder>[0])
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Canonical CBOR bytes of `value`. Throws CodecError for anything not Plain (lone surrogates included). */
export function encode (value: unknown): Uint8Array {
  return encoder.encode(canonicalize(value, 0))
}

// Same wire options as `encoder`; fed plain objects directly (no Maps), so it needs no key sort.
const localEncoder = new Encoder({ useRecords: false, mapsAsObjects: true, variableMapSize: true, tagUint8Array: false, useFloat32: 0 } as ConstructorParameters<typeof Encoder>[0])

/**
 * CBOR bytes of `value` for local storage only: they decode to the same value
 * as `encode`'s, but map keys keep insertion order, so they are NOT canonical:
 * never hash or compare them. About twice as fast as `encode` (no sorted copy
 * of every map). Values that are not plain data in the strict sense (undefined
 * map values, -0, odd prototypes) go through `encode`, which normalizes or
 * refuses them, so whatever this writes, `decode` reads back.
 */
export function encodeLocal (value: unknown): Uint8Array {
  return isStrictPlain(value, 0) ? localEncoder.encode(value) : encode(value)
}

/** True when cbor-x encodes `v` exactly as `encode` would, up to map key order. Allocates nothing. */
function isStrictPlain (v: unknown, depth: number): boolean {
  if (v === null || typeof v === 'boolean') return true
  if (typeof v === 'string') return v.isWellFormed()
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0)
  if (typeof v !== 'object') return false
  if (v instanceof Uint8Array) return true
  if (depth >= MAX_DEPTH) return false
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype) return false
    for (let i = 0; i < v.length; i++) if (!isStrictPlain(v[i], depth + 1)) return false
    return true
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) return false
  for (const k in v) {
    if (!Object.hasOwn(v, k) || k === '__proto__' || !k.isWellFormed() || !isStrictPlain((v as Record<string, unknown>)[k], depth + 1)) return false
  }
  return true
}

/** Decodes untrusted bytes, or throws CodecError naming what was wrong. Never returns shared buffers. */
export function decode (bytes: Uint8Array, limits: DecodeLimits = {}): Plain {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES
  if (!(bytes instanceof Uint8Array)) throw new CodecError('input is not a byte array')
  if (bytes.length > maxBytes) throw new CodecError(`input is ${bytes.length} bytes, over the ${maxBytes}-byte limit`)
  if (bytes.length === 0) throw new CodecError('input is empty')
  const end = scan(bytes, 0, 0, limits.maxDepth ?? MAX_DEPTH, limits.maxItems ?? DEFAULT_MAX_ITEMS)
  if (end !== bytes.length) throw new CodecError(`${bytes.length - end} trailing bytes after the value`)
  try {
    return decoder.decode(bytes) as Plain
  } catch (err) {
    throw new CodecError(`malformed CBOR: ${(err as Error).message}`)
  }
}

/** SHA-256 of the canonical encoding (or of raw bytes). */
export function hash (value: unknown): Uint8Array {
  const bytes = value instanceof Uint8Array ? value : encode(value)
  return new Uint8Array(createHash('sha256').update(bytes).digest())
}

/** A string that sorts values in canonical order and serves as a Map key: hex of the canonical bytes. */
export function canonicalKey (value: unknown): string {
  return Buffer.from(encode(value)).toString('hex')
}

const ASCII = /^[\x00-\x7f]*$/

/** Canonical order: bytewise order of canonical encodings. */
export function compareCanonical (a: unknown, b: unknown): number {
  // Fast paths that order exactly as the encodings do: two ASCII strings (shorter first, then bytewise)
  // and two unsigned safe integers (major type 0, minimal-length big-endian).
  if (typeof a === 'string' && typeof b === 'string' && ASCII.test(a) && ASCII.test(b)) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
  if (typeof a === 'number' && typeof b === 'number' && Number.isSafeInteger(a) && Number.isSafeInteger(b) && a >= 0 && b >= 0) return Math.sign(a - b)
  return Buffer.compare(encode(a), encode(b))
}

/** True when the two values have identical canonical bytes. */
export function canonicalEqual (a: unknown, b: unknown): boolean {
  return Buffer.compare(encode(a), encode(b)) === 0
}

const textEncoder = new TextEncoder()

/** RFC 8949 §4.2.1 key order for text keys: shorter encoding first, then bytewise. */
function compareKeys (a: string, b: string): number {
  if (a === b) return 0
  // For ASCII, UTF-8 bytes are the UTF-16 code units: compare without encoding.
  if (ASCII.test(a) && ASCII.test(b)) return a.length - b.length || (a < b ? -1 : 1)
  const ab = textEncoder.encode(a)
  const bb = textEncoder.encode(b)
  return ab.length - bb.length || Buffer.compare(ab, bb)
}

function canonicalize (v: unknown, depth: number): unknown {
  if (v === null || typeof v === 'boolean') return v
  if (typeof v === 'string') {
    if (!v.isWellFormed()) throw new CodecError(`cannot encode string ${JSON.stringify(v.slice(0, 40))}: it has a lone surrogate, which has no UTF-8 form`)
    return v
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new CodecError(`cannot encode non-finite number ${v}`)
    return v === 0 ? 0 : v
  }
  if (v instanceof Uint8Array) return v
  // The decoder refuses an array or map at nesting level MAX_DEPTH + 1 (the top value is level 1), so we do too.
  if (typeof v === 'object' && depth >= MAX_DEPTH) throw new CodecError(`value nested deeper than ${MAX_DEPTH}`)
  if (Array.isArray(v)) {
    // Copy only if an item changes (most arrays hold nothing that needs it): states can be large.
    let out: unknown[] | undefined
    for (let i = 0; i < v.length; i++) {
      const x = canonicalize(v[i], depth + 1)
      if (out === undefined && x !== v[i]) out = v.slice(0, i)
      if (out !== undefined) out.push(x)
    }
    return out ?? v
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v)
    if (proto !== Object.prototype && proto !== null) throw new CodecError(`cannot encode ${proto?.constructor?.name ?? 'object'}`)
    const keys = Object.keys(v)
    for (const k of keys) {
      if (k === '__proto__') throw new CodecError('cannot encode map key "__proto__": decoders refuse it')
      if (!k.isWellFormed()) throw new CodecError(`cannot encode map key ${JSON.stringify(k.slice(0, 40))}: it has a lone surrogate, which has no UTF-8 form`)
    }
    if (keys.length > 1) keys.sort(compareKeys)
    const out = new Map<string, unknown>()
    for (const k of keys) {
      const x = (v as Record<string, unknown>)[k]
      if (x === undefined) continue
      out.set(k, canonicalize(x, depth + 1))
    }
    return out
  }
  throw new CodecError(`cannot encode ${typeof v}`)
}

/**
 * Walks one data item at `pos` and returns the offset just past it. Checks that
 * every length fits in what remains, nesting stays under `maxDepth`, there are
 * no tags, no indefinite lengths, no undefined/NaN/Infinity, map keys are unique
 * text other than `__proto__`, text is valid UTF-8 and integers are safe.
 */
function scan (b: Uint8Array, pos: number, depth: number, maxDepth: number, maxItems: number): number {
  if (pos >= b.length) throw new CodecError(`truncated input at byte ${pos}`)
  const initial = b[pos]
  const major = initial >> 5
  const info = initial & 0x1f
  let p = pos + 1
  let arg: number
  if (info < 24) arg = info
  else if (info <= 27) {
    const size = 1 << (info - 24)
    if (p + size > b.length) throw new CodecError(`truncated input at byte ${pos}`)
    if (major === 7) return scanFloat(b, pos, p, size)
    arg = 0
    for (let i = 0; i < size; i++) arg = arg * 256 + b[p + i]
    p += size
    if (!Number.isSafeInteger(arg)) throw new CodecError(`integer or length at byte ${pos} is beyond 2^53`)
  } else if (info === 31) {
    throw new CodecError(`indefinite-length item at byte ${pos} is not allowed`)
  } else {
    throw new CodecError(`reserved header 0x${initial.toString(16)} at byte ${pos}`)
  }
  switch (major) {
    case 0: case 1: return p
    case 2: case 3: {
      if (arg > b.length - p) throw new CodecError(`string at byte ${pos} declares ${arg} bytes, only ${b.length - p} remain`)
      if (major === 3) textAt(b, p, arg, pos)
      return p + arg
    }
    case 4: case 5: {
      if (depth + 1 > maxDepth) throw new CodecError(`nested deeper than ${maxDepth} at byte ${pos}`)
      if (arg > maxItems) throw new CodecError(`${major === 4 ? 'array' : 'map'} at byte ${pos} declares ${arg} items, over the ${maxItems} limit`)
      if (arg > b.length - p) throw new CodecError(`${major === 4 ? 'array' : 'map'} at byte ${pos} declares ${arg} items, only ${b.length - p} bytes remain`)
      if (major === 4) {
        for (let i = 0; i < arg; i++) p = scan(b, p, depth + 1, maxDepth, maxItems)
        return p
      }
      const seen = new Set<string>()
      for (let i = 0; i < arg; i++) {
        const keyAt = p
        if (p >= b.length) throw new CodecError(`truncated input at byte ${p}`)
        if (b[p] >> 5 !== 3) throw new CodecError(`map key at byte ${p} is not a text string`)
        p = scan(b, p, depth + 1, maxDepth, maxItems)
        const key = keyText(b, keyAt, p)
        if (key === '__proto__') throw new CodecError(`map key "__proto__" at byte ${keyAt} is not allowed`)
        if (seen.has(key)) throw new CodecError(`duplicate map key ${JSON.stringify(key)} at byte ${keyAt}`)
        seen.add(key)
        p = scan(b, p, depth + 1, maxDepth, maxItems)
      }
      return p
    }
    case 6: throw new CodecError(`tag ${arg} at byte ${pos} is not allowed`)
    default: // major 7, simple values in the header byte
      if (info === 20 || info === 21 || info === 22) return p
      throw new CodecError(`simple value ${info} at byte ${pos} is not allowed`)
  }
}

function scanFloat (b: Uint8Array, pos: number, p: number, size: number): number {
  if (size === 1) throw new CodecError(`simple value at byte ${pos} is not allowed`)
  const view = new DataView(b.buffer, b.byteOffset + p, size)
  const x = size === 2 ? halfToNumber(view.getUint16(0)) : size === 4 ? view.getFloat32(0) : view.getFloat64(0)
  if (!Number.isFinite(x)) throw new CodecError(`non-finite float at byte ${pos} is not allowed`)
  return p + size
}

function halfToNumber (h: number): number {
  const exp = (h >> 10) & 0x1f
  return exp === 0x1f ? NaN : 0 // only finiteness matters here
}

function textAt (b: Uint8Array, p: number, len: number, pos: number): string {
  try {
    return utf8.decode(b.subarray(p, p + len))
  } catch {
    throw new CodecError(`text at byte ${pos} is not valid UTF-8`)
  }
}

function keyText (b: Uint8Array, keyAt: number, end: number): string {
  const info = b[keyAt] & 0x1f
  const headerLen = info < 24 ? 1 : 1 + (1 << (info - 24))
  return textAt(b, keyAt + headerLen, end - keyAt - headerLen, keyAt)
}
