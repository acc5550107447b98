// Issue 9.2: counter views are exact whatever the total: a JSON number while safe, else a decimal string.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import type { OpContext } from '../../core/contract.ts'
import { ContractError } from '../../core/errors.ts'
import { MemoryStorage } from '../../core/storage.ts'
import { ReplicaStore } from '../../core/replica-store.ts'
import { createRegistry } from '../../contracts/index.ts'
import { type GCounterState, gCounter } from '../../contracts/g-counter.ts'
import { createOrMap } from '../../contracts/or-map.ts'
import { type PnCounterState, pnCounter } from '../../contracts/pn-counter.ts'

const MAX = Number.MAX_SAFE_INTEGER
const ctx = (replica: string): OpContext => ({ replica, now: 1_700_000_000_000 })

function pn (s: PnCounterState, op: 'inc' | 'dec', replica: string, n: number): PnCounterState {
  const d = pnCounter.ops[op](s, [n], ctx(replica))
  return d === undefined ? s : pnCounter.merge(s, d)
}

/** The exact value a view must show: a safe integer as a number, anything else as its decimal string. */
function expected (n: bigint): number | string {
  return n >= BigInt(-MAX) && n <= BigInt(MAX) ? Number(n) : n.toString()
}
const sum = (s: GCounterState): bigint => s.reduce((t, [, c]) => t + BigInt(c), 0n)

test('pn-counter: the forged push {p: two entries of 2^53 − 1} is valid, its view is exact, and inc and dec still count', () => {
  const forged = pnCounter.validate({ p: [['evil1', MAX], ['evil2', MAX]], n: [] })
  let s = pnCounter.merge(pn(pnCounter.empty(), 'inc', 'alice', 4), forged)
  assert.equal(pnCounter.view(s), '18014398509481986') // 2 × (2^53 − 1) + 4
  s = pn(s, 'inc', 'alice', 1)
  assert.equal(pnCounter.view(s), '18014398509481987')
  s = pn(s, 'dec', 'bob', 2)
  assert.equal(pnCounter.view(s), '18014398509481985')
  // Back into the safe range, the view is a number again.
  s = pnCounter.merge(s, pnCounter.validate({ p: [], n: [['evil3', MAX], ['evil4', MAX]] }))
  assert.equal(pnCounter.view(s), 3)
})

test('pn-counter and g-counter: honest replicas alice inc(2^53 − 1) and bob inc(2) merge to the exact 9007199254740993', () => {
  const alice = pn(pnCounter.empty(), 'inc', 'alice', MAX)
  const bob = pn(pnCounter.empty(), 'inc', 'bob', 2)
  assert.equal(pnCounter.view(pnCounter.merge(alice, bob)), '9007199254740993')
  assert.equal(pnCounter.view(pnCounter.merge(bob, alice)), '9007199254740993')
  const a = gCounter.ops.inc(gCounter.empty(), [MAX], ctx('alice'))!
  const b = gCounter.ops.inc(gCounter.empty(), [2], ctx('bob'))!
  assert.equal(gCounter.view(gCounter.merge(a, b)), '9007199254740993')
  // Negative past the safe range too.
  const neg = pn(pn(pnCounter.empty(), 'dec', 'alice', MAX), 'dec', 'bob', MAX)
  assert.equal(pnCounter.view(neg), '-18014398509481982')
})

test('a replica\'s own entry stays within 2^53 − 1: validate refuses more, inc refuses to pass it, other replicas still count', () => {
  for (const bad of [{ p: [['evil', MAX + 1]], n: [] }, { p: [], n: [['evil', 2 ** 60]] }]) {
    assert.throws(() => pnCounter.validate(bad), (err: unknown) => err instanceof ContractError && err.code === 'invalid_state')
  }
  assert.throws(() => gCounter.validate([['evil', MAX + 1]]), (err: unknown) => err instanceof ContractError && err.code === 'invalid_state')
  const s = pn(pnCounter.empty(), 'inc', 'alice', MAX)
  assert.throws(() => pnCounter.ops.inc(s, [1], ctx('alice')), (err: unknown) => err instanceof ContractError && err.code === 'bad_args' && /own count/.test(err.message))
  assert.equal(pnCounter.view(pn(s, 'inc', 'bob', 1)), '9007199254740992')
  assert.equal(pnCounter.view(pn(s, 'dec', 'alice', MAX)), 0) // the n half is a count of its own
})

test('the view of every valid counter state is exact (a safe number, or the decimal string of the exact total)', () => {
  const count = fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: MAX - 100, max: MAX }), fc.integer({ min: 1, max: MAX }))
  const half = fc.uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), count), { selector: e => e[0], maxLength: 6 })
    .map(entries => entries.sort((x, y) => (x[0] < y[0] ? -1 : 1)) as GCounterState)
  fc.assert(fc.property(half, half, (p, n) => {
    const g = gCounter.validate(p)
    assert.deepEqual(gCounter.view(g), expected(sum(g)))
    const s = pnCounter.validate({ p, n })
    const v = pnCounter.view(s)
    assert.deepEqual(v, expected(sum(p) - sum(n)))
    assert.ok(typeof v === 'string' || Number.isSafeInteger(v), `view ${v} is an unsafe number`)
  }), { numRuns: 2000 })
})

test('or-map: a nested counter past 2^53 shows its exact value in the map view', () => {
  const registry = createRegistry()
  const orMap = createOrMap(id => registry.get(id))
  let s = orMap.empty()
  for (const [replica, n] of [['alice', MAX], ['bob', 2]] as const) {
    const d = orMap.ops.apply(s, ['hits', 'g-counter', 'inc', [n]], ctx(replica))!
    s = orMap.merge(s, d)
  }
  assert.deepEqual(orMap.view(s), { hits: '9007199254740993' })
})

test('store: after the forged push is merged, the key still takes inc and reads the exact total', async () => {
  const store = await ReplicaStore.open({ storage: new MemoryStorage(), registry: createRegistry(), replica: 'alice' })
  try {
    await store.update('c', 'pn-counter', 'inc', [1])
    assert.deepEqual(await store.mergeRemote('c', 'pn-counter', { p: [['evil1', MAX], ['evil2', MAX]], n: [] }, 'evil'), { changed: true })
    assert.equal((await store.get('c'))?.value, '18014398509481983')
    assert.equal((await store.update('c', 'pn-counter', 'inc', [2])).value, '18014398509481985')
    assert.equal((await store.update('c', 'pn-counter', 'dec', [5])).value, '18014398509481980')
  } finally {
    await store.close()
  }
})
