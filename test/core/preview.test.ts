// Error messages about untrusted values cost at most a preview's worth of work: before, JSON.stringify of a
// whole decoded value (a byte string becomes {"0":0,...}) made a contract's refusal of one invalid 1 MiB state
// block the event loop for 120-300 ms, and a malformed field of a 1 MiB message for 100 ms (found by the fuzzer, test/fuzz/).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decode } from '../../core/codec.ts'
import { short } from '../../core/json.ts'
import { preview } from '../../core/preview.ts'
import { MAX_WIRE_BYTES, PROTOCOL_VERSION, ProtocolError, decodeMessage } from '../../core/sync/messages.ts'
import { createRegistry } from '../../contracts/index.ts'
import * as w from '../fuzz/cbor-writer.ts'

/** The least of a few timings of `f` (ms): robust to a busy machine. */
function fastest (f: () => void, repeats = 3): number {
  let best = Infinity
  for (let i = 0; i < repeats; i++) {
    const t = performance.now()
    f()
    best = Math.min(best, performance.now() - t)
  }
  return best
}

test('a preview is the JSON text, cut to its length', () => {
  const values: unknown[] = [null, true, 0, -1.5, 'a"b', '', [], {}, [1, [2, { a: 'x' }]], { b: null, a: [true, false] }, 'x'.repeat(200), Array.from({ length: 50 }, (_, i) => i), { k: undefined, j: 1 }]
  for (const v of values) {
    const json = JSON.stringify(v)
    assert.equal(preview(v, 60), json.length > 60 ? json.slice(0, 57) + '...' : json, `preview of ${json.slice(0, 40)}`)
  }
  assert.equal(preview(undefined, 60), 'undefined')
  assert.equal(preview(NaN, 60), 'null')
  assert.equal(preview([Uint8Array.of(1, 2, 3)], 60), '[<3 bytes>]')
  assert.equal(preview({ x: new Uint8Array(10) }, 60), '{"x":<10 bytes>}')
})

test('a preview of a huge value costs no more than of a small one', () => {
  const big = decode(w.map([[w.text('e'), w.array([w.bytes(new Uint8Array(1_000_000))])], [w.text('c'), w.array(Array.from({ length: 50_000 }, (_, i) => w.uint(i)))]]), { maxBytes: 2 ** 21 })
  // (Not a map of 100,000 keys: listing an object's first key makes V8 list them all, which decoding it cost already.)
  for (const [what, v] of [['a map holding a 1 MB byte string', big], ['a 1 MB string', 'y'.repeat(1_000_000)], ['an array of 100,000 arrays', Array.from({ length: 100_000 }, () => [1])]] as const) {
    let s = ''
    const ms = fastest(() => { s = short(v) })
    assert.ok(s.length <= 80, `${what}: ${s.length} characters`)
    assert.ok(ms < 5, `${what}: short() took ${ms.toFixed(2)} ms`)
  }
})

test('every built-in contract refuses an invalid state holding 1 MB of bytes in a few ms', () => {
  const registry = createRegistry()
  const blob = w.array([w.bytes(new Uint8Array(1_000_000))])
  const states = [
    decode(w.map([[w.text('e'), blob]])),
    decode(w.map([[w.text('c'), blob], [w.text('e'), w.array([])]])),
    decode(blob)
  ]
  for (const id of ['g-counter', 'pn-counter', 'lww-register', 'mv-register', 'g-set', 'or-set', 'log', 'or-map']) {
    const c = registry.get(id)
    assert.ok(c !== undefined)
    for (const s of states) {
      const ms = fastest(() => { assert.throws(() => c.validate(s)) })
      assert.ok(ms < 10, `${id}: refusing an invalid state took ${ms.toFixed(1)} ms`)
    }
  }
})

test('a message whose malformed field holds a 1 MiB byte string is refused in a few ms', () => {
  const bytes = w.array([w.uint(PROTOCOL_VERSION), w.uint(7), w.array([w.bytes(new Uint8Array(MAX_WIRE_BYTES - 64))])])
  const ms = fastest(() => { assert.throws(() => decodeMessage(bytes), (err: unknown) => err instanceof ProtocolError && /wanted keys .* malformed: \[<\d+ bytes>\]/.test(err.message)) })
  assert.ok(ms < 10, `refusing it took ${ms.toFixed(1)} ms`)
})
