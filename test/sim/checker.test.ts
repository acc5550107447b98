import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ContractRef } from '../../core/contract.ts'
import type { JsonValue } from '../../core/json.ts'
import { ReplicaStore } from '../../core/replica-store.ts'
import { MemoryStorage } from '../../core/storage.ts'
import { createRegistry } from '../../contracts/index.ts'
import { checkReplicas } from '../../sim/checker.ts'
import { WriteLog } from '../../sim/workload.ts'

const registry = createRegistry()
const open = async (replica: string): Promise<ReplicaStore> => await ReplicaStore.open({ storage: new MemoryStorage(), registry, replica, clock: () => Date.UTC(2024, 0, 1) })

/** Two replicas; `write` runs an op on one, records it, and optionally copies its delta to the other. */
async function setup () {
  const a = await open('a'); const b = await open('b')
  const writes = new WriteLog()
  const write = async (on: ReplicaStore, key: string, ref: ContractRef, op: string, args: JsonValue[], opts: { copy?: boolean, acked?: boolean, record?: boolean } = {}) => {
    const r = await on.update(key, ref, op, args)
    if (opts.record !== false) writes.record(key, ref, r.delta, opts.acked ?? true)
    if (opts.copy !== false && r.delta !== undefined) await (on === a ? b : a).mergeRemote(key, ref, r.delta, on.replica)
  }
  const check = async () => await checkReplicas([{ name: 'a', store: a }, { name: 'b', store: b }], registry, writes)
  return { a, b, writes, write, check }
}

test('converged replicas holding what was written pass', async () => {
  const { a, b, write, check } = await setup()
  await write(a, 'set', 'or-set', 'add', ['x'])
  await write(b, 'set', 'or-set', 'remove', ['x'])
  await write(b, 'n', 'pn-counter', 'dec', [3])
  await write(a, 'm', 'or-map', 'apply', ['f', 'g-counter', 'inc', [2]])
  assert.deepEqual(await check(), [])
  await write(a, 'n', 'pn-counter', 'inc', [1], { acked: false }) // interrupted, but it got through: allowed
  await write(a, 'n', 'pn-counter', 'inc', [1], { acked: false, copy: false, record: true })
  await b.mergeRemote('n', 'pn-counter', (await a.deltaFor('n'))!.delta, 'a')
  assert.deepEqual(await check(), [])
  await a.close(); await b.close()
})

test('a key that differs between replicas is reported', async () => {
  const { a, b, write, check } = await setup()
  await write(a, 'c', 'g-counter', 'inc', [1], { copy: false })
  const problems = await check()
  assert.equal(problems.length, 1)
  assert.match(problems[0], /key c differs: a has \[\["a",1\]\], b has \(nothing\)/)
  await a.close(); await b.close()
})

test('an acknowledged write missing everywhere is reported as lost', async () => {
  const { a, b, writes, check } = await setup()
  writes.record('s', 'or-set', { e: [['x', ['a', 1]]], c: [['a', [1, 1]]] }, true)
  assert.match((await check())[0], /key s lost acknowledged writes/)
  await a.close(); await b.close()
})

test('a value or a key never written is reported as invented', async () => {
  const { a, b, write, check } = await setup()
  await write(a, 'c', 'g-counter', 'inc', [1])
  await write(b, 'c', 'g-counter', 'inc', [5], { record: false }) // nobody logged this write
  await write(a, 'ghost', 'g-set', 'add', [1], { record: false })
  const problems = await check()
  assert.equal(problems.length, 2)
  assert.match(problems[0], /key ghost is on a but was never written/)
  assert.match(problems[1], /key c holds something never written/)
  await a.close(); await b.close()
})

test('states that differ are called out, and or-set summaries tell them apart even with equal contexts', async () => {
  const { a, b, writes, check } = await setup()
  // Two or-set states with the same context: b still holds an entry that a knows is gone. Their
  // summaries differ in the live dots, so sync repairs this; the checker says which case it sees.
  const entry = { e: [['v', ['p1', 1]]], c: [['p1', [1, 1]]] }
  await a.mergeRemote('s', 'or-set', { e: [], c: [['p1', [1, 2]]] }, 'p1')
  await b.mergeRemote('s', 'or-set', entry, 'p1')
  await b.mergeRemote('s', 'or-set', { e: [], c: [['p1', [2, 2]]] }, 'p1')
  writes.record('s', 'or-set', { e: [], c: [['p1', [1, 2]]] }, true)
  writes.record('s', 'or-set', entry, true)
  const problems = await check()
  assert.match(problems[0], /key s differs: /)
  assert.doesNotMatch(problems[0], /EQUAL summaries/)
  await a.close(); await b.close()
})
