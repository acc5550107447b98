// Issue 9.7: a lone surrogate merged into a key must never make the key unreadable after a restart.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import type { Contract } from '../../core/contract.ts'
import { ContractError } from '../../core/errors.ts'
import { LevelStorage } from '../../core/level-storage.ts'
import type { ContractRegistry } from '../../core/registry.ts'
import { ReplicaStore } from '../../core/replica-store.ts'
import { createRegistry } from '../../contracts/index.ts'
import { tempFolders } from '../helpers/store-fixtures.ts'

const folders = await tempFolders('surrogate')
after(folders.remove)

/** A register of the greatest string, whose validate forgets the surrogate check: the store must still never write what it cannot read. */
const looseString: Contract<string | null, string | null> = {
  id: 'loose-string',
  empty: () => null,
  merge: (a, b) => (a === null ? b : b === null ? a : a >= b ? a : b),
  summarize: s => s,
  delta: (s, theirs) => (s !== null && (theirs === null || s > theirs) ? s : undefined),
  validate (x) {
    if (x === null || typeof x === 'string') return x
    throw new ContractError('invalid_state', 'loose-string state must be a string or null')
  },
  validateSummary (x) {
    if (x === null || typeof x === 'string') return x
    throw new ContractError('invalid_summary', 'loose-string summary must be a string or null')
  },
  ops: { set: (s, [v]) => (typeof v === 'string' && (s === null || v > s) ? v : undefined) },
  view: s => s
}

function registry (): ContractRegistry {
  const r = createRegistry()
  r.register(looseString, { trusted: true })
  return r
}

async function open (path: string, replica = 'alice'): Promise<ReplicaStore> {
  return await ReplicaStore.open({ storage: await LevelStorage.open(path), registry: registry(), replica })
}

test('or-map: a field name with a lone surrogate is refused as invalid_state, and the key reads, updates and deltas after reopen', async () => {
  const path = folders.next()
  const store = await open(path)
  await store.update('m', 'or-map', 'apply', ['a', 'g-counter', 'inc', [3]])
  // The attack from the issue, as a peer would send it.
  const forged = { e: [['f\uD800', 'g-counter', ['peer', 1], [['peer.1', 5]], [['peer', 1, 1]]]], c: [['peer', [1, 1]]] }
  const merged = await outcome(store.mergeRemote('m', 'or-map', forged, 'peer'))
  await assert.rejects(store.update('m', 'or-map', 'apply', ['f\uD800', 'g-counter', 'inc', [1]]), /lone surrogate/)
  await store.close()

  // First what matters most: the key survives a restart whole.
  const again = await open(path)
  try {
    assert.deepEqual((await again.get('m'))?.value, { a: 3 })
    assert.notEqual(await again.deltaFor('m'), undefined)
    assert.deepEqual((await again.update('m', 'or-map', 'apply', ['b\uD83D\uDE00', 'g-counter', 'inc', [2]])).value, { a: 3, 'b\uD83D\uDE00': 2 })
  } finally {
    await again.close()
  }
  assert.ok(merged instanceof ContractError && merged.code === 'invalid_state', `the forged state was not refused as invalid_state: ${String(merged)}`)
  assert.match(merged.message, /lone surrogate/)
})

/** What a promise settled with: its error, or its value. */
async function outcome (p: Promise<unknown>): Promise<unknown> {
  try { return await p } catch (err) { return err }
}

test('a contract whose validate lets a lone surrogate through: the store refuses the merge and the key stays readable after reopen', async () => {
  const path = folders.next()
  const store = await open(path)
  await store.update('s', 'loose-string', 'set', ['a'])
  const merged = await outcome(store.mergeRemote('s', 'loose-string', 'z\uD800', 'peer'))
  await assert.rejects(store.update('s', 'loose-string', 'set', ['y\uDC00']), /lone surrogate/)
  assert.equal((await store.get('s'))?.value, 'a', 'the refused merge left nothing behind in memory either')
  await store.close()

  const again = await open(path)
  try {
    assert.equal((await again.get('s'))?.value, 'a')
    assert.equal((await again.update('s', 'loose-string', 'set', ['b'])).value, 'b')
    assert.notEqual(await again.deltaFor('s'), undefined)
  } finally {
    await again.close()
  }
  assert.match(String(merged), /lone surrogate/)
})
