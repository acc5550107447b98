/**
 * The fuzzer's mutations of a valid message: byte-level (bit flips, truncation, extension,
 * overwrites with interesting bytes, splices), tree-level (field swaps, type changes, odd numbers,
 * deep nesting, long strings, huge arrays, wrong versions and types, dropped or added fields), and
 * hostile CBOR spliced into the tree (duplicate map keys, `__proto__` keys, tags, indefinite
 * lengths, non-canonical forms, lying lengths), plus random bytes and random CBOR. Each mutation
 * says whether its result is certainly no message (`invalid`): those must all be refused.
 */
import { type Plain, decode, encode } from '../../core/codec.ts'
import { PROTOCOL_VERSION } from '../../core/sync/messages.ts'
import * as w from './cbor-writer.ts'
import type { Prng } from './prng.ts'

export interface Mutant {
  bytes: Uint8Array
  /** The mutation's name (reported per type). */
  kind: string
  /** True when the bytes can be no valid message whatever the type (the daemon must refuse them). */
  invalid: boolean
}

/** Bytes kept verbatim inside a tree (written by cbor-writer's `raw`). */
class RawNode {
  readonly bytes: Uint8Array
  constructor (bytes: Uint8Array) { this.bytes = bytes }
}
type Tree = Plain | RawNode | Tree[] | { [k: string]: Tree }

function writeTree (t: Tree): Uint8Array {
  if (t instanceof RawNode) return t.bytes
  if (t instanceof Uint8Array) return w.bytes(t)
  if (Array.isArray(t)) return w.array(t.map(writeTree))
  if (t !== null && typeof t === 'object') return w.map(Object.entries(t).map(([k, v]) => [w.text(k), writeTree(v)]))
  return w.raw(t)
}

/** Every node's parent and slot, the root as [undefined, undefined]. */
function slots (t: Tree): Array<[Tree[] | Record<string, Tree> | undefined, number | string | undefined]> {
  const out: Array<[Tree[] | Record<string, Tree> | undefined, number | string | undefined]> = [[undefined, undefined]]
  const walk = (x: Tree): void => {
    if (Array.isArray(x)) x.forEach((v, i) => { out.push([x, i]); walk(v) })
    else if (x !== null && typeof x === 'object' && !(x instanceof Uint8Array) && !(x instanceof RawNode)) {
      for (const [k, v] of Object.entries(x)) { out.push([x as Record<string, Tree>, k]); walk(v) }
    }
  }
  walk(t)
  return out
}

/** Replaces one random node of `t` (maybe the root) by `f(node)`; returns the new root. */
function replaceNode (r: Prng, t: Tree, f: (x: Tree) => Tree, numbersOnly = false): Tree {
  let all = slots(t)
  if (numbersOnly) {
    const nums = all.filter(([p, s]) => p !== undefined && typeof (p as Record<string, Tree>)[s as string] === 'number')
    if (nums.length > 0) all = nums
  }
  const [parent, slot] = r.pick(all)
  if (parent === undefined) return f(t)
  const p = parent as Record<string | number, Tree>
  p[slot as string] = f(p[slot as string])
  return t
}

const INTERESTING_BYTES = [0x00, 0x01, 0x17, 0x18, 0x1b, 0x1f, 0x3f, 0x40, 0x5f, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xd8, 0xdc, 0xf4, 0xf7, 0xf9, 0xfb, 0xff]
const ODD_NUMBERS: Array<() => Uint8Array> = [
  () => w.uint(2 ** 53), () => w.uint(2n ** 64n - 1n), () => w.nint(0), () => w.nint(2 ** 31), () => w.nint(2n ** 64n - 1n),
  () => w.float64(0.5), () => w.float64(1e308), () => w.float64(-0), () => w.float64(NaN), () => w.float64(Infinity),
  () => w.float32(1.5), () => Uint8Array.of(0xf9, 0x7c, 0x00), () => w.uint(1, 8), () => w.uint(0, 1)
]
const TAGS = [0, 1, 2, 3, 4, 5, 24, 25, 28, 29, 32, 55799, 258, 259, 40001, 0xffffffff]

/** A random CBOR item, up to `depth` deep: every major type, odd forms included. */
export function randomCbor (r: Prng, depth: number): Uint8Array {
  switch (r.int(depth > 0 ? 12 : 8)) {
    case 0: return w.uint(r.chance(0.5) ? r.int(30) : r.u32())
    case 1: return w.nint(r.int(1000))
    case 2: return w.bytes(r.bytes(r.int(40)))
    case 3: return w.text(r.text(12))
    case 4: return r.pick([w.TRUE, w.FALSE, w.NULL, w.UNDEFINED, w.simple(r.int(256))])
    case 5: return r.pick(ODD_NUMBERS)()
    case 6: return w.float64((r.float() - 0.5) * 1e6)
    case 7: return w.head(r.int(8), r.u32(), r.pick([0, 1, 2, 4, 8] as const)) // a bare header, maybe lying
    case 8: return w.array(Array.from({ length: r.int(5) }, () => randomCbor(r, depth - 1)))
    case 9: return w.map(Array.from({ length: r.int(4) }, () => [r.chance(0.8) ? w.text(r.text(5)) : randomCbor(r, 0), randomCbor(r, depth - 1)] as [Uint8Array, Uint8Array]))
    case 10: return w.tag(r.pick(TAGS), randomCbor(r, depth - 1))
    default: return w.indefinite(r.pick([2, 3, 4, 5]), [])
  }
}

/** A random item that is certainly refused by the codec (hostile for any type). */
function hostile (r: Prng, inner: Uint8Array): { node: Uint8Array, kind: string } {
  switch (r.int(9)) {
    case 0: return { node: w.map([[w.text('a'), inner], [w.text('a'), w.NULL]]), kind: 'duplicate-key' }
    case 1: return { node: w.map([[w.text('__proto__'), inner]]), kind: 'proto-key' }
    case 2: return { node: w.tag(r.pick(TAGS), inner), kind: 'tag' }
    case 3: return { node: w.indefinite(4, [inner]), kind: 'indefinite' }
    case 4: return { node: w.concat(w.head(4, r.pick([2 ** 32 - 1, 2 ** 31, 1_000_001])), inner), kind: 'huge-declared-length' }
    case 5: return { node: w.concat(w.head(r.pick([2, 3]), 2 ** 32 - 1, 4), Uint8Array.of(0x61)), kind: 'huge-declared-string' }
    case 6: return { node: r.pick([w.float64(NaN), w.float64(Infinity), w.UNDEFINED, w.simple(r.range(0, 19))]), kind: 'non-finite-or-simple' }
    case 7: return { node: w.concat(new Uint8Array(r.range(65, 2000)).fill(0x81), Uint8Array.of(0x00)), kind: 'deep-nesting' }
    default: return { node: w.uint(r.range(0, 23), r.pick([1, 2, 4, 8] as const)), kind: 'non-canonical-int' }
  }
}

const ALL_MUTATIONS = [
  'bitflip', 'truncate', 'extend', 'overwrite', 'insert-delete', 'splice',
  'field-swap', 'type-change', 'odd-number', 'long-string', 'huge-array', 'wrong-version', 'wrong-type', 'arity', 'hostile',
  'random-bytes', 'random-cbor', 'random-fields'
] as const

/** One mutant of `valid` (the canonical bytes of a valid message of wire type `typeNumber`). */
export function mutate (r: Prng, valid: Uint8Array, typeNumber: number): Mutant {
  const kind = r.pick(ALL_MUTATIONS)
  const b = Uint8Array.from(valid)
  switch (kind) {
    case 'bitflip': {
      for (let i = r.range(1, 4); i > 0; i--) { const at = r.int(b.length); b[at] ^= 1 << r.int(8) }
      return { bytes: b, kind, invalid: false }
    }
    case 'truncate': return { bytes: b.subarray(0, r.int(b.length)), kind, invalid: true }
    case 'extend': return { bytes: w.concat(b, r.chance(0.5) ? r.bytes(r.range(1, 16)) : randomCbor(r, 2)), kind, invalid: true }
    case 'overwrite': {
      for (let i = r.range(1, 3); i > 0; i--) b[r.int(b.length)] = r.pick(INTERESTING_BYTES)
      return { bytes: b, kind, invalid: false }
    }
    case 'insert-delete': {
      const at = r.int(b.length + 1)
      return { bytes: r.chance(0.5) ? w.concat(b.subarray(0, at), Uint8Array.of(r.u32() & 0xff), b.subarray(at)) : w.concat(b.subarray(0, at), b.subarray(at + 1)), kind, invalid: false }
    }
    case 'splice': {
      const i = r.int(b.length); const j = r.int(b.length)
      const [lo, hi] = i < j ? [i, j] : [j, i]
      return { bytes: w.concat(b.subarray(hi), b.subarray(lo, hi), b.subarray(0, lo)), kind, invalid: false }
    }
    case 'random-bytes': return { bytes: r.bytes(r.int(300)), kind, invalid: false }
    case 'random-cbor': return { bytes: randomCbor(r, 4), kind, invalid: false }
    case 'random-fields': {
      const fields = Array.from({ length: r.int(8) }, () => randomCbor(r, 3))
      return { bytes: w.array([w.uint(PROTOCOL_VERSION), w.uint(typeNumber), ...fields]), kind, invalid: false }
    }
  }
  // Tree-level: decode the valid bytes (the codec's own reading of them) and change the tree.
  let t = decode(valid) as Tree
  let invalid = false
  let hostileKind: string | undefined
  const top = t as Tree[]
  switch (kind) {
    case 'field-swap':
      t = replaceNode(r, t, x => {
        if (Array.isArray(x) && x.length > 1) { const i = r.int(x.length); const j = r.int(x.length); [x[i], x[j]] = [x[j], x[i]] }
        return x
      })
      break
    case 'type-change':
      t = replaceNode(r, t, () => r.pick<Tree>([null, true, false, 0, 7, -1, 'x', '', new Uint8Array(3), [], {}, [1, 2], { a: 1 }]))
      break
    case 'odd-number': {
      const node = r.pick(ODD_NUMBERS)()
      t = replaceNode(r, t, () => new RawNode(node), true)
      break
    }
    case 'long-string':
      t = replaceNode(r, t, () => {
        const long = r.chance(0.5) ? 'x'.repeat(r.pick([256, 4096, 70_000])) : new Uint8Array(r.chance(0.1) ? 900_000 : r.pick([17, 4096, 70_000]))
        return r.chance(0.3) ? [long] : long // inside a list too: a field's error message once stringified it whole
      })
      break
    case 'huge-array':
      t = replaceNode(r, t, () => Array.from({ length: r.chance(0.05) ? 100_000 : r.pick([1025, 5000]) }, (_, i) => i % 3 === 0 ? i : 0))
      break
    case 'wrong-version':
      top[0] = r.pick<Tree>([PROTOCOL_VERSION - 1, PROTOCOL_VERSION + 1, 0, -1, 255, String(PROTOCOL_VERSION), 2 ** 40, null, new RawNode(w.float64(PROTOCOL_VERSION + 0.5))])
      invalid = true
      break
    case 'wrong-type':
      top[1] = r.pick<Tree>([0, 12, 13, 255, -1, 1.5, 'push', null, r.range(1, 11)])
      break
    case 'arity':
      if (r.chance(0.5) && top.length > 2) top.splice(2 + r.int(top.length - 2), 1)
      else top.splice(2 + r.int(top.length - 1), 0, r.pick<Tree>([null, 0, [], new Uint8Array(16)]))
      break
    case 'hostile': {
      const h = hostile(r, w.uint(1))
      hostileKind = h.kind
      t = replaceNode(r, t, () => new RawNode(h.node))
      invalid = true
      break
    }
  }
  let bytes: Uint8Array
  try {
    bytes = encode(t as Plain) // canonical where it can be, so the message's own decoder is what refuses it
  } catch {
    bytes = writeTree(t)
  }
  return { bytes, kind: hostileKind ?? kind, invalid }
}
