import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ReplicaStore } from '../../core/replica-store.ts'
import { MemoryStorage } from '../../core/storage.ts'
import { createRegistry } from '../../contracts/index.ts'
import { Random } from '../../sim/random.ts'
import { KEY_CONTRACTS, WriteLog, planKeys, randomOp } from '../../sim/workload.ts'

test('the key plan covers every built-in contract', () => {
  const ids = new Set(planKeys(new Random(3), 20).map(k => (typeof k.ref === 'string' ? k.ref : k.ref.id)))
  // Not "owned": it wraps the others and needs signed writes (test/core/envelope/ covers it, through sync too).
  assert.deepEqual([...ids].sort(), createRegistry().ids().filter(id => id !== 'owned'))
  assert.equal(new Set(planKeys(new Random(3), KEY_CONTRACTS.length).map(k => JSON.stringify(k.ref))).size, KEY_CONTRACTS.length)
})

test('random ops are valid for their contracts: 2,000 of them run on a store without an error, nested or-map ops included', async () => {
  const rng = new Random(11)
  const store = await ReplicaStore.open({ storage: new MemoryStorage(), registry: createRegistry(), replica: 'r1', clock: () => Date.UTC(2024, 0, 1) })
  const plan = planKeys(rng, 18)
  const names = new Set<string>()
  let changed = 0
  for (let i = 0; i < 2000; i++) {
    const { key, ref } = rng.pick(plan)
    const op = randomOp(rng, ref)
    names.add(`${typeof ref === 'string' ? ref : ref.id}.${op.name}${op.name === 'apply' ? `.${String(op.args[1])}` : ''}`)
    if ((await store.update(key, ref, op.name, op.args)).delta !== undefined) changed++
  }
  await store.close()
  assert.ok(changed > 1000)
  for (const want of ['or-set.remove', 'pn-counter.dec', 'log.append', 'or-map.remove', 'or-map.apply.or-map', 'or-map.apply.or-set']) assert.ok(names.has(want), want)
})

test('the write log keeps acked and attempted deltas apart and counts no-ops', () => {
  const w = new WriteLog()
  w.record('a', 'g-counter', [['r', 1]], true)
  w.record('a', 'g-counter', [['r', 2]], false)
  w.record('b', 'g-set', undefined, true)
  assert.deepEqual(w.get('a'), { ref: 'g-counter', acked: [[['r', 1]]], attempted: [[['r', 1]], [['r', 2]]] })
  assert.deepEqual([w.acked, w.unacked, w.noops], [1, 1, 1])
  assert.deepEqual(w.keys(), ['a'])
})
