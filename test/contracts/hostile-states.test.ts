// Every built-in contract refuses hostile states and summaries at a cost bounded by their shape, not their bytes:
// a 900 KB byte string given as a state made g-set, or-set, log and or-map list its 900,000 indexes (Object.keys
// of a Uint8Array) before refusing it, blocking the event loop 350-590 ms per frame (found by the fuzzer, test/fuzz/).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createRegistry } from '../../contracts/index.ts'

/** The least of three timings of `f` (ms), which must throw: robust to a busy machine. */
function refusalMs (f: () => unknown): number {
  let best = Infinity
  for (let i = 0; i < 3; i++) {
    const t = performance.now()
    assert.throws(f)
    best = Math.min(best, performance.now() - t)
  }
  return best
}

test('a 900 KB byte string, as a state or a summary, or inside one, is refused in a few ms by every built-in contract', () => {
  const registry = createRegistry()
  const big = new Uint8Array(900_000)
  const shapes: Array<[string, unknown]> = [
    ['a byte string', big],
    ['{e: bytes, c: []}', { e: big, c: [] }],
    ['{c: bytes, e: []}', { c: big, e: [] }],
    ['{p: bytes, n: []}', { p: big, n: [] }],
    ['[[replica, bytes]]', [['a', big]]],
    ['{e, c, f: bytes}', { e: [], c: [], f: big }]
  ]
  for (const id of ['g-counter', 'pn-counter', 'lww-register', 'mv-register', 'g-set', 'or-set', 'log', 'or-map']) {
    const c = registry.get(id)
    assert.ok(c !== undefined)
    for (const [what, x] of shapes) {
      const state = refusalMs(() => c.validate(x))
      const summary = refusalMs(() => c.validateSummary(x))
      assert.ok(state < 10 && summary < 10, `${id}: refusing ${what} took ${state.toFixed(1)} ms as a state, ${summary.toFixed(1)} ms as a summary`)
    }
  }
})
