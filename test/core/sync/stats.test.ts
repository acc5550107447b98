import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ReplicaStore } from '../../../core/replica-store.ts'
import { MemoryStorage } from '../../../core/storage.ts'
import { SyncEngine } from '../../../core/sync/engine.ts'
import { type DeltaItem, encodeMessage } from '../../../core/sync/messages.ts'
import { type TopCounts, UNKNOWN_CONTRACTS_KEPT, UNKNOWN_CONTRACTS_REPORTED, countTop, topOf } from '../../../core/sync/stats.ts'
import { createRegistry } from '../../../contracts/index.ts'

const total = (t: TopCounts): number => Object.values(t.byId).reduce((a, b) => a + b, 0) + t.others

test('a flood of made-up names keeps the table bounded, the total exact, and a name counted often on top', () => {
  const t: TopCounts = { byId: {}, others: 0 }
  for (let i = 0; i < 4; i++) countTop(t, 'popular')
  for (let i = 0; i < 31_000; i++) {
    countTop(t, `made-up-${i}`)
    if (i % 300 === 0) countTop(t, 'popular')
    assert.ok(Object.keys(t.byId).length <= UNKNOWN_CONTRACTS_KEPT)
  }
  assert.equal(Object.keys(t.byId).length, UNKNOWN_CONTRACTS_KEPT)
  assert.equal(total(t), 31_000 + 108)
  const top = topOf(t)
  assert.equal(Object.keys(top.byId).length, UNKNOWN_CONTRACTS_REPORTED)
  assert.deepEqual(Object.entries(top.byId)[0], ['popular', 108], 'the flood evicts only names counted once')
  assert.equal(total(top), total(t))
})

test('names that are Object.prototype properties count like any other', () => {
  const t: TopCounts = { byId: {}, others: 0 }
  countTop(t, 'constructor')
  countTop(t, 'constructor')
  countTop(t, 'toString')
  assert.deepEqual(topOf(t), { byId: { constructor: 2, toString: 1 }, others: 0 })
})

test('31,000 unknown contract ids from one peer: the engine reports the 20 largest and the rest as a count', async () => {
  const store = await ReplicaStore.open({ storage: new MemoryStorage(), registry: createRegistry() })
  const engine = await SyncEngine.create(store, { self: 'me', now: 0 })
  for (let part = 0; part < 31; part++) {
    const items: DeltaItem[] = Array.from({ length: 1000 }, (_, i) => ({ key: `k${part * 1000 + i}`, contract: { id: `c${part * 1000 + i}` }, delta: 1 }))
    if (part === 7) items.push(...Array.from({ length: 50 }, (_, i) => ({ key: `often${i}`, contract: { id: 'often' }, delta: 1 })))
    await engine.receive('evil', encodeMessage({ type: 'push', items }), 0)
  }
  const { unknownContracts, rejectedDeltas } = engine.stats()
  assert.equal(rejectedDeltas, 31_050)
  assert.equal(Object.keys(unknownContracts.byId).length, UNKNOWN_CONTRACTS_REPORTED, JSON.stringify(unknownContracts).slice(0, 200))
  assert.equal(unknownContracts.byId.often, 50)
  assert.equal(total(unknownContracts), 31_050)
  const bytes = JSON.stringify(unknownContracts).length
  assert.ok(bytes < 1000, `status reports ${bytes} bytes of unknown contracts`)
  await store.close()
})
