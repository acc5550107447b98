import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encode, encodeLocal, decode, canonicalKey, compareCanonical } from '../../core/codec.ts'
import { CodecError } from '../../core/errors.ts'

/** Rebuilds every object of `x` with its keys inserted in a shuffled order. */
function reorder (x: unknown, rand: () => number): unknown {
  if (Array.isArray(x)) return x.map(v => reorder(v, rand))
  if (x !== null && typeof x === 'object') {
    const keys = Object.keys(x).sort(() => rand() - 0.5)
    const out: Record<string, unknown> = {}
    for (const k of keys) out[k] = reorder((x as Record<string, unknown>)[k], rand)
    return out
  }
  return x
}

const json = fc.jsonValue({ maxDepth: 4 }).filter(v => !JSON.stringify(v).includes('__proto__'))

test('equal values encode to identical bytes whatever the key insertion order', () => {
  fc.assert(fc.property(json, fc.integer(), (v, seed) => {
    let s = seed
    const rand = (): number => { s = (s * 1103515245 + 12345) % 2147483648; return Math.abs(s) / 2147483648 }
    assert.equal(Buffer.compare(encode(reorder(v, rand)), encode(v)), 0)
  }), { numRuns: 500 })
})

test('decode inverts encode and re-encoding is stable', () => {
  fc.assert(fc.property(json, v => {
    const bytes = encode(v)
    const back = decode(bytes)
    assert.equal(Buffer.compare(encode(back), bytes), 0)
    assert.deepEqual(back, JSON.parse(JSON.stringify(v, (_k, x) => Object.is(x, -0) ? 0 : x)))
  }), { numRuns: 500 })
})

test('map keys are in RFC 8949 order: shorter first, then bytewise, integer-like keys included', () => {
  const bytes = encode({ b: 1, '10': 2, a: 3, '9': 4, aa: 5 })
  assert.deepEqual(Object.keys(decode(bytes) as object).length, 5)
  // 0xa5 map(5), then keys in order "9", "a", "b", "10", "aa"
  const hex = Buffer.from(bytes).toString('hex')
  const order = ['6139', '6161', '6162', '623130', '626161'].map(k => hex.indexOf(k))
  assert.deepEqual([...order].sort((x, y) => x - y), order)
})

test('canonical order and keys agree with bytes', () => {
  fc.assert(fc.property(json, json, (a, b) => {
    assert.equal(Math.sign(compareCanonical(a, b)), Math.sign(Buffer.compare(encode(a), encode(b))))
    assert.equal(canonicalKey(a) === canonicalKey(b), Buffer.compare(encode(a), encode(b)) === 0)
  }), { numRuns: 300 })
})

test('encode refuses values that are not plain data', () => {
  for (const bad of [NaN, Infinity, undefined, () => 1, new Date(0), new Map(), Symbol('x'), 10n]) {
    assert.throws(() => encode(bad), CodecError, String(bad))
  }
})

test('decoded byte strings do not alias the input', () => {
  const bytes = encode({ b: new Uint8Array([1, 2, 3]) })
  const out = decode(bytes) as { b: Uint8Array }
  bytes.fill(0)
  assert.deepEqual([...out.b], [1, 2, 3])
})

function hex (s: string): Uint8Array { return new Uint8Array(Buffer.from(s.replace(/\s/g, ''), 'hex')) }
function repeat (byte: number, n: number, tail: number[] = []): Uint8Array {
  const b = new Uint8Array(n + tail.length).fill(byte)
  b.set(tail, n)
  return b
}

const bignum = (tag: number): Uint8Array => {
  const len = 256 * 1024
  const b = new Uint8Array(1 + 5 + len).fill(0xff)
  b[0] = 0xc0 | tag; b[1] = 0x5a; new DataView(b.buffer).setUint32(2, len)
  return b
}

const hostile: Record<string, Uint8Array> = {
  'deep array nesting': repeat(0x81, 100_000, [0x00]),
  'deep map nesting': (() => { const parts: number[] = []; for (let i = 0; i < 50_000; i++) parts.push(0xa1, 0x61, 0x61); parts.push(0); return new Uint8Array(parts) })(),
  'bignum tag 2 (256 KiB)': bignum(2),
  'bignum tag 3 (256 KiB)': bignum(3),
  'shared-reference tag 28': hex('d81c 82 d81d 00 d81d 00'),
  'shared-reference tag 29': hex('82 d81c 80 d81d 00'),
  'generic object tag 27': hex('d81b 82 6141 80'),
  'record tag': hex('d9dfff 82 00 00'),
  'date tag 1': hex('c1 1a 5a000000'),
  'self-describe tag 55799': hex('d9d9f7 00'),
  'oversize input': new Uint8Array(1024 * 1024 + 1),
  'truncated string': hex('78 20 6161'),
  'truncated array': hex('83 01 02'),
  'array declaring 2^32 items': hex('9b 00000001 00000000'),
  'map declaring more items than bytes': hex('ba 00100000 6161 00'),
  '__proto__ key': hex('a1 69 5f5f70726f746f5f5f a1 61 78 01'),
  'non-text map key': hex('a1 01 02'),
  'duplicate map key': hex('a2 6161 01 6161 02'),
  'indefinite-length array': hex('9f 01 ff'),
  'undefined': hex('f7'),
  'NaN': hex('f9 7e00'),
  'Infinity (float64)': hex('fb 7ff0000000000000'),
  'integer beyond 2^53': hex('1b ffffffffffffffff'),
  'invalid UTF-8 text': hex('62 c328'),
  'reserved header': hex('1c'),
  'trailing bytes': hex('01 02'),
  'empty input': new Uint8Array(0)
}

for (const [name, bytes] of Object.entries(hostile)) {
  test(`hostile input rejected with CodecError in under 5 ms: ${name}`, () => {
    let best = Infinity
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now()
      assert.throws(() => decode(bytes), CodecError)
      best = Math.min(best, performance.now() - t0)
    }
    assert.ok(best < 5, `took ${best.toFixed(2)} ms`)
  })
}

test('decoding __proto__ keys never touches prototypes', () => {
  assert.throws(() => decode(hostile['__proto__ key']), /__proto__/)
  assert.equal(({} as Record<string, unknown>).x, undefined)
})

test('random bytes either decode to plain data or throw CodecError, nothing else', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), bytes => {
    try {
      const v = decode(bytes)
      encode(v)
    } catch (err) {
      assert.ok(err instanceof CodecError, `threw ${(err as Error).name}: ${(err as Error).message}`)
    }
  }), { numRuns: 2000 })
})

test('limits are configurable', () => {
  const bytes = encode([[[1]]])
  assert.throws(() => decode(bytes, { maxDepth: 2 }), /nested deeper than 2/)
  assert.throws(() => decode(encode([1, 2, 3]), { maxItems: 2 }), /over the 2 limit/)
  assert.throws(() => decode(encode('x'.repeat(100)), { maxBytes: 50 }), /over the 50-byte limit/)
  assert.deepEqual(decode(bytes, { maxDepth: 3 }), [[[1]]])
})

// Plain values with byte strings, -0, and maps whose keys look like numbers.
const plain = fc.letrec(tie => ({
  value: fc.oneof({ depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, -0, 1.5, -7, 2 ** 40, Number.MAX_SAFE_INTEGER),
    fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.uint8Array({ maxLength: 8 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('1', '10', 'a', 'aa')).filter(k => k !== '__proto__'), tie('value'), { maxKeys: 4 }))
})).value

test('encodeLocal bytes decode to the value encode gives, so canonical re-encoding matches', () => {
  fc.assert(fc.property(plain, v => {
    const local = encodeLocal(v)
    const back = decode(local)
    assert.equal(Buffer.compare(encode(back), encode(v)), 0)
    assert.deepEqual(back, decode(encode(v)))
  }), { numRuns: 1000 })
})

test('encodeLocal hands what is not strictly plain to encode: undefined map values dropped, -0 folded, the rest refused', () => {
  assert.deepEqual(decode(encodeLocal({ a: 1, b: undefined })), { a: 1 })
  assert.ok(Object.is((decode(encodeLocal([-0])) as number[])[0], 0))
  assert.deepEqual(decode(encodeLocal(Object.assign(Object.create(null), { x: [1] }))), { x: [1] })
  for (const bad of [undefined, [undefined], NaN, { a: Infinity }, new Map(), new Date(0), () => 1, 10n]) {
    assert.throws(() => encodeLocal(bad), CodecError, String(bad))
  }
  let deep: unknown = 1
  for (let i = 0; i < 70; i++) deep = [deep]
  assert.throws(() => encodeLocal(deep), CodecError)
})

// Any UTF-16 code unit, so strings hold lone surrogates as often as pairs; map keys too, `__proto__` and deep nesting included.
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map(c => String.fromCharCode(c))
const anyString = fc.oneof(
  fc.string({ unit: anyUnit, maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom('\uD800', 'a\uDFFF', '\uDBFF\uDFFF', 'x\uDC00\uD800y', '__proto__', '')
)
const anyPlain = fc.letrec(tie => ({
  value: fc.oneof({ depthSize: 'small' },
    fc.constantFrom(null, true, 0, -0, 2 ** 60, -1.5, Number.MAX_SAFE_INTEGER),
    anyString, fc.uint8Array({ maxLength: 4 }),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(anyString, tie('value'), { maxKeys: 3 }).map(d => {
      // fc.dictionary never makes an own "__proto__" key; JSON.parse does, as a peer's input would.
      return Object.keys(d).length === 0 ? JSON.parse('{"__proto__": 1}') as object : d
    }))
})).value

/** Nests `v` in `n` arrays. */
function nest (v: unknown, n: number): unknown { for (let i = 0; i < n; i++) v = [v]; return v }

/** True when some string or map key in `v` has a lone surrogate. */
function hasLoneSurrogate (v: unknown): boolean {
  if (typeof v === 'string') return !v.isWellFormed()
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return false
  return Object.entries(v).some(([k, x]) => !k.isWellFormed() || hasLoneSurrogate(x))
}

/** Nesting level of arrays and maps (a scalar is 0, `[]` is 1). */
function levels (v: unknown): number {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return 0
  return 1 + Math.max(0, ...Object.values(v).map(levels))
}

/** True when some map in `v` has an own "__proto__" key. */
function hasProtoKey (v: unknown): boolean {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return false
  return (!Array.isArray(v) && Object.hasOwn(v, '__proto__')) || Object.values(v).some(hasProtoKey)
}

test('law: whatever encode or encodeLocal accepts, decode reads back (lone surrogates, __proto__ keys and over-deep nesting are refused when encoding)', () => {
  fc.assert(fc.property(anyPlain, fc.integer({ min: 0, max: 66 }), (v, depth) => {
    const x = nest(v, depth)
    for (const enc of [encode, encodeLocal]) {
      let bytes: Uint8Array
      try {
        bytes = enc(x)
      } catch (err) {
        assert.ok(err instanceof CodecError, `${enc.name} threw ${(err as Error).name}`)
        // And no more than that is refused.
        assert.ok(hasLoneSurrogate(x) || hasProtoKey(x) || levels(x) > 64, `${enc.name} refused a value the decoder reads: ${(err as Error).message}`)
        continue
      }
      assert.ok(!hasLoneSurrogate(x), `${enc.name} accepted a lone surrogate`)
      const back = decode(bytes) // throws (failing the law) if the encoder wrote what the decoder refuses
      assert.equal(Buffer.compare(encode(back), encode(x)), 0)
    }
  }), { numRuns: 3000 })
})

test('encode refuses a lone surrogate in a string or a map key, naming it; well-formed pairs encode as 4-byte UTF-8', () => {
  for (const bad of ['\uD800', { 'f\uD800': 1 }, [['x', 'a\uDFFF']], { e: [['f\uD800', 'g-counter']] }]) {
    assert.throws(() => encode(bad), /lone surrogate/, JSON.stringify(bad))
    assert.throws(() => encodeLocal(bad), /lone surrogate/, JSON.stringify(bad))
  }
  assert.equal(Buffer.from(encode('\uD83D\uDE00')).toString('hex'), '64f09f9880')
  assert.deepEqual(decode(encode({ '\uD83D\uDE00': 1 })), { '\uD83D\uDE00': 1 })
})
