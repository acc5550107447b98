import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { encode } from '../../core/codec.ts'
import type { OpContext } from '../../core/contract.ts'
import { ContractError } from '../../core/errors.ts'
import type { JsonValue } from '../../core/json.ts'
import { LAWS, checkLaws } from '../../core/laws.ts'
import { builtinLawInputs } from '../../contracts/law-inputs.ts'
import { type GCounterState, gCounter } from '../../contracts/g-counter.ts'

const ctx = (replica: string): OpContext => ({ replica, now: 1_700_000_000_000 })

function inc (s: GCounterState, replica: string, ...args: JsonValue[]): GCounterState {
  const d = gCounter.ops.inc(s, args, ctx(replica))
  return d === undefined ? s : gCounter.merge(s, d)
}

function isBadArgs (err: unknown): boolean {
  return err instanceof ContractError && err.code === 'bad_args'
}

test('g-counter obeys every law with its law inputs (1000 runs each)', () => {
  // view-exact needs exact counter views (issue 9.2, merged from its own branch): where the sum of two
  // entries of 2^53 − 1 still shows as a rounded number, that one law is left out here.
  const exact = typeof gCounter.view([['alice', Number.MAX_SAFE_INTEGER], ['bob', Number.MAX_SAFE_INTEGER]]) === 'string'
  const report = checkLaws(gCounter, builtinLawInputs['g-counter'], { numRuns: 1000, laws: exact ? LAWS : LAWS.filter(l => l !== 'view-exact') })
  assert.ok(report.ok, JSON.stringify(report.failures, null, 2))
})

test('counts from every replica sum under merge in any order', () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.nat({ max: 20 })), { maxLength: 20 }),
    fc.func(fc.integer()),
    (incs, key) => {
      const replicas = new Map<string, GCounterState>()
      const deltas: GCounterState[] = []
      for (const [r, n] of incs) {
        const s = replicas.get(r) ?? gCounter.empty()
        const d = gCounter.ops.inc(s, [n], ctx(r))
        if (d === undefined) { assert.equal(n, 0); continue }
        deltas.push(d)
        replicas.set(r, gCounter.merge(s, d))
      }
      const expected = incs.reduce((sum, [, n]) => sum + n, 0)
      const shuffled = [...deltas].sort((x, y) => key(x) - key(y))
      const merged = shuffled.reduce(gCounter.merge, gCounter.empty())
      assert.equal(gCounter.view(merged), expected)
      const states = [...replicas.values()].sort((x, y) => key(y) - key(x))
      assert.equal(gCounter.view(states.reduce(gCounter.merge, gCounter.empty())), expected)
    }
  ))
})

test('inc without args adds 1, inc(0) changes nothing, the delta is the new own count', () => {
  let s = inc(gCounter.empty(), 'alice')
  s = inc(s, 'alice', 4)
  s = inc(s, 'bob', 2)
  assert.deepEqual(s, [['alice', 5], ['bob', 2]])
  assert.equal(gCounter.view(s), 7)
  assert.equal(gCounter.ops.inc(s, [0], ctx('alice')), undefined)
  assert.deepEqual(gCounter.ops.inc(s, [3], ctx('bob')), [['bob', 5]])
})

test('bad amounts are refused with bad_args and leave the state alone', () => {
  const s = inc(gCounter.empty(), 'alice', 2)
  const before = encode(s)
  for (const args of [[-1], [1.5], ['3'], [null], [Number.MAX_SAFE_INTEGER + 1], [1, 2]] as JsonValue[][]) {
    assert.throws(() => gCounter.ops.inc(s, args, ctx('alice')), isBadArgs, `inc(${JSON.stringify(args)})`)
  }
  assert.deepEqual(encode(s), before)
})

test('inc is refused only when this replica\'s own count would pass MAX_SAFE_INTEGER; others may still count', () => {
  const s = inc(gCounter.empty(), 'alice', Number.MAX_SAFE_INTEGER - 1)
  const full = inc(s, 'alice')
  assert.equal(gCounter.view(full), Number.MAX_SAFE_INTEGER)
  assert.throws(() => gCounter.ops.inc(full, [1], ctx('alice')), (err: unknown) => isBadArgs(err) && /own count past Number.MAX_SAFE_INTEGER/.test((err as Error).message))
  assert.equal(gCounter.view(inc(full, 'bob', 2)), '9007199254740993')
})

test('delta sends only the entries the other side is behind on', () => {
  const a: GCounterState = [['alice', 5], ['bob', 1], ['carol', 2]]
  const b: GCounterState = [['alice', 3], ['bob', 1], ['dave', 9]]
  assert.deepEqual(gCounter.delta(a, gCounter.summarize(b)), [['alice', 5], ['carol', 2]])
  assert.equal(gCounter.delta(b, gCounter.summarize(gCounter.merge(a, b))), undefined)
})

test('validate rejects garbage with invalid_state', () => {
  const garbage: unknown[] = [
    null, 5, 'x', {}, [['alice']], [['alice', 0]], [['alice', -1]], [['alice', 1.5]], [['alice', '1']],
    [['alice', Number.MAX_SAFE_INTEGER + 2]], [['', 1]], [['__proto__', 1]], [[7, 1]],
    [['bob', 1], ['alice', 1]], // unsorted
    [['alice', 1], ['alice', 2]], // duplicate replica
    [['alice', 1, 2]]
  ]
  for (const x of garbage) {
    assert.throws(() => gCounter.validate(x), (err: unknown) => err instanceof ContractError && err.code === 'invalid_state', JSON.stringify(x))
    assert.throws(() => gCounter.validateSummary(x), (err: unknown) => err instanceof ContractError && err.code === 'invalid_summary', JSON.stringify(x))
  }
})

test('summary size: the state is the summary, one small entry per replica', t => {
  let s = gCounter.empty()
  for (let i = 0; i < 1000; i++) s = inc(s, ['alice', 'bob', 'carol'][i % 3], 7)
  const bytes = encode(gCounter.summarize(s)).length
  t.diagnostic(`g-counter summary for 3 replicas after 1000 incs: ${bytes} bytes`)
  assert.deepEqual(gCounter.summarize(s), s)
  assert.ok(bytes <= 40, `${bytes} bytes`)
})
