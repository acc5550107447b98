// Owned or-map keys: a writer's change records only its own events, nested fields included (review F3b).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ContractError } from '../../../core/errors.ts'
import { entryBytes, paramsHash } from '../../../core/envelope/signed-bytes.ts'
import type { OwnedState } from '../../../core/envelope/state.ts'
import { createOrMap } from '../../../contracts/or-map.ts'
import { keys, ownedFor, registry, write } from './owned-fixtures.ts'

const c = ownedFor('or-map')
const ph = paramsHash(c.params!)

function refused (f: () => unknown, code: string, msg: RegExp): void {
  assert.throws(f, (err: unknown) => err instanceof ContractError && err.code === code && msg.test(err.message))
}

/** Bob's entry `d` with its body rewritten by `edit`, and signed again by bob (a writer forging in his own block). */
function resigned (d: OwnedState, edit: (body: unknown) => unknown): OwnedState {
  const f = structuredClone(d)
  const blk = f.w[0]
  const entry = blk[4][0]
  entry[1] = edit(entry[1]) as never
  entry[2] = keys.bob.sign(entryBytes(ph, blk[0], blk[1], blk[2], entry[0], entry[1]))
  return f
}

test('a writer cannot sign nested events under another writer\'s replica id in an owned or-map', () => {
  let s: unknown = c.empty()
  s = write(c, s, 'alice', 'apply', ['score', 'g-counter', 'inc', [5]], 'alice-store').state
  const aliceEntry = (s as OwnedState).w[0][4][0]
  const aliceNested = JSON.stringify(aliceEntry[1]).match(/"(o[0-9a-f]{23}\.\d+)"/)![1]
  const bob = write(c, s, 'bob', 'apply', ['score', 'g-counter', 'inc', [1]], 'bob-store')
  // An honest delta names only bob's own ids, and every peer takes it.
  assert.ok(!JSON.stringify(bob.delta).includes(aliceNested.split('.')[0]), 'bob\'s honest delta holds none of alice\'s ids')
  const ok = c.validate(structuredClone(bob.delta) as never)
  s = c.merge(s as OwnedState, ok)
  assert.deepEqual(c.view(s as OwnedState), { score: 6 })
  // Bob adds alice's nested counter entry (1,000,000) into his own entry's nested g-counter and signs it.
  const forged = resigned(bob.delta as OwnedState, body => {
    const b = body as { e: Array<[string, string, unknown, Array<[string, number]>, unknown]> }
    b.e[0][3] = [[aliceNested, 1_000_000] as [string, number], ...b.e[0][3]].sort((x, y) => x[0] < y[0] ? -1 : 1)
    return b
  })
  refused(() => c.validate(forged), 'unauthorized_write', /records events under replica/)
  // ...or lists alice as one of the entry's writers.
  const asWriter = resigned(bob.delta as OwnedState, body => {
    const b = body as { e: Array<[string, string, unknown, unknown, Array<[string, number, number]>]> }
    b.e[0][4] = [[aliceNested.split('.')[0], 1, 1] as [string, number, number], ...b.e[0][4]].sort((x, y) => x[0] < y[0] ? -1 : 1)
    return b
  })
  refused(() => c.validate(asWriter), 'unauthorized_write', /records events under replica/)
  // Alice's later writes keep counting from her own value, and both writers' fields join in the view.
  s = write(c, s, 'alice', 'apply', ['score', 'g-counter', 'inc', [7]], 'alice-store').state
  s = write(c, s, 'bob', 'apply', ['tags', 'or-set', 'add', ['x']], 'bob-store').state
  assert.deepEqual(c.view(s as OwnedState), { score: 13, tags: ['x'] })
  // A remove by bob retires alice's entries too (a context, not an event), and his later write starts afresh.
  s = write(c, s, 'bob', 'remove', ['score'], 'bob-store').state
  s = write(c, s, 'alice', 'apply', ['score', 'g-counter', 'inc', [2]], 'alice-store').state
  assert.deepEqual(c.view(s as OwnedState), { score: 2, tags: ['x'] })
  assert.deepEqual(c.view(c.validate(structuredClone(s) as never)), { score: 2, tags: ['x'] })
})

test('an owned or-map refuses a field whose contract cannot list its replica ids', () => {
  const plain = registry.resolve('or-map')
  const base = registry.resolve('g-counter')
  const noIds = { ...base, id: 'g-counter' } as typeof base
  delete (noIds as { replicasOf?: unknown }).replicasOf
  assert.equal(typeof plain.replicasOf, 'function')
  // Through the contract itself: ownEvents with a nested contract lacking replicasOf is bad_args.
  const m = createOrMap(id => id === 'g-counter' ? noIds : registry.resolve(id))
  refused(() => m.ops.apply(m.empty(), ['f', 'g-counter', 'inc', [1]], { replica: 'o' + '1'.repeat(23), now: 1, ownEvents: true }), 'bad_args', /replicasOf/)
  const d = m.ops.apply(m.empty(), ['f', 'g-counter', 'inc', [1]], { replica: 'a'.repeat(24), now: 1 })
  assert.ok([...m.replicasOf!(d!)].includes(''), 'a nested state it cannot read reports the never-owned id ""')
})
