/**
 * A CBOR writer with no rules, for building hostile input: any header size, duplicate or
 * `__proto__` map keys, tags, indefinite lengths, floats where integers belong, lengths that lie.
 * Each function returns the encoded bytes of one item (or, for `head`, of a header alone).
 */

/** A header: major type and argument, in the shortest form unless `size` (1, 2, 4 or 8 bytes after the first) is given. */
export function head (major: number, arg: number | bigint, size?: 0 | 1 | 2 | 4 | 8): Uint8Array {
  const a = BigInt(arg)
  const n = size ?? (a < 24n ? 0 : a < 0x100n ? 1 : a < 0x10000n ? 2 : a < 0x100000000n ? 4 : 8)
  if (n === 0) return Uint8Array.of((major << 5) | Number(a))
  const out = new Uint8Array(1 + n)
  out[0] = (major << 5) | ({ 1: 24, 2: 25, 4: 26, 8: 27 } as const)[n]
  for (let i = 0; i < n; i++) out[n - i] = Number((a >> BigInt(8 * i)) & 0xffn)
  return out
}

export function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

const utf8 = new TextEncoder()

export const uint = (n: number | bigint, size?: 0 | 1 | 2 | 4 | 8): Uint8Array => head(0, n, size)
/** The negative integer -1 - n. */
export const nint = (n: number | bigint): Uint8Array => head(1, n)
export const bytes = (b: Uint8Array): Uint8Array => concat(head(2, b.length), b)
export const text = (s: string): Uint8Array => { const b = utf8.encode(s); return concat(head(3, b.length), b) }
export const array = (items: Uint8Array[]): Uint8Array => concat(head(4, items.length), ...items)
export const map = (pairs: Array<[Uint8Array, Uint8Array]>): Uint8Array => { const parts = [head(5, pairs.length)]; for (const [k, v] of pairs) parts.push(k, v); return concat(...parts) }
export const tag = (t: number | bigint, item: Uint8Array): Uint8Array => concat(head(6, t), item)
export const float64 = (x: number): Uint8Array => { const b = new Uint8Array(9); b[0] = 0xfb; new DataView(b.buffer).setFloat64(1, x); return b }
export const float32 = (x: number): Uint8Array => { const b = new Uint8Array(5); b[0] = 0xfa; new DataView(b.buffer).setFloat32(1, x); return b }
export const simple = (v: number): Uint8Array => v < 24 ? Uint8Array.of(0xe0 | v) : Uint8Array.of(0xf8, v)
export const FALSE = Uint8Array.of(0xf4)
export const TRUE = Uint8Array.of(0xf5)
export const NULL = Uint8Array.of(0xf6)
export const UNDEFINED = Uint8Array.of(0xf7)
export const BREAK = Uint8Array.of(0xff)
/** An indefinite-length array (or, with major 2, 3 or 5, byte string, text or map) of `items`, closed by a break. */
export const indefinite = (major: number, items: Uint8Array[]): Uint8Array => concat(Uint8Array.of((major << 5) | 31), ...items, BREAK)

/** Encodes a JS value plainly (maps in insertion order, integers shortest, other numbers as float64): no canonical rules applied. */
export function raw (v: unknown): Uint8Array {
  if (v === null || v === undefined) return v === null ? NULL : UNDEFINED
  if (v === true) return TRUE
  if (v === false) return FALSE
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && !Object.is(v, -0)) return v >= 0 ? uint(v) : nint(-1 - v)
    return float64(v)
  }
  if (typeof v === 'bigint') return v >= 0n ? uint(v) : nint(-1n - v)
  if (typeof v === 'string') return text(v)
  if (v instanceof Uint8Array) return bytes(v)
  if (Array.isArray(v)) return array(v.map(raw))
  if (typeof v === 'object') return map(Object.entries(v).map(([k, x]) => [text(k), raw(x)]))
  throw new TypeError(`cannot write ${typeof v}`)
}
