// A key's binding records its contract's version: kept across restarts, absent in records written before
// versions (they read as unversioned), and a store whose contract has another version refuses the key
// instead of reading it with other code.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import type { AnyContract } from '../../core/contract.ts'
import { ContractError } from '../../core/errors.ts'
import { encodeLocal } from '../../core/codec.ts'
import { decodeRecord } from '../../core/key-record.ts'
import { LevelStorage } from '../../core/level-storage.ts'
import { ContractRegistry } from '../../core/registry.ts'
import { ReplicaStore } from '../../core/replica-store.ts'
import { itemHash } from '../../core/sync/key-index.ts'
import { orSet } from '../../contracts/or-set.ts'
import { cappedMax } from '../fixtures/capped-max.ts'
import { maxRegister } from '../fixtures/max-register.ts'
import { tempFolders } from '../helpers/store-fixtures.ts'

const folders = await tempFolders('key-record')
after(async () => { await folders.remove() })

const code = (c: string) => (err: unknown): boolean => err instanceof ContractError && err.code === c

function registryWith (...contracts: AnyContract[]): ContractRegistry {
  const r = new ContractRegistry()
  for (const c of contracts) r.register(c, { trusted: true })
  return r
}

async function open (dir: string, ...contracts: AnyContract[]): Promise<ReplicaStore> {
  return await ReplicaStore.open({ storage: await LevelStorage.open(dir), registry: registryWith(...contracts) })
}

test('a record without a version (as written before versions) reads as unversioned; one with a version keeps it', () => {
  const old = decodeRecord(encodeLocal({ c: 'max-register', s: 3, q: 1, g: 0 }), 'k')
  assert.deepEqual(old.binding, { id: 'max-register' })
  const versioned = decodeRecord(encodeLocal({ c: 'capped-max', p: { cap: 5 }, v: '2', s: 3, q: 1, g: 0 }), 'k')
  assert.deepEqual(versioned.binding, { id: 'capped-max', params: { cap: 5 }, version: '2' })
  assert.throws(() => decodeRecord(encodeLocal({ c: 'max-register', v: 2, s: 3, q: 1 }), 'k'), /contract version not text/)
})

test('a key bound to a versioned contract keeps its version across a restart; another version of the contract refuses it', async () => {
  const dir = folders.next()
  const v2 = { ...maxRegister, version: '2' }
  let store = await open(dir, v2)
  const r = await store.update('k', 'max-register', 'set', [7])
  assert.deepEqual(r.contract, { id: 'max-register', version: '2' })
  await store.close()

  store = await open(dir, v2)
  assert.deepEqual(await store.get('k'), { key: 'k', contract: { id: 'max-register', version: '2' }, value: 7 })
  await store.close()

  // The same id with other code: the key is refused, naming both versions, and nothing is written.
  for (const other of [{ ...maxRegister, version: '3' }, maxRegister]) {
    store = await open(dir, other)
    await assert.rejects(store.get('k'), (err: unknown) => code('unknown_contract')(err) && /version "2"/.test(String((err as Error).cause ?? err)))
    await assert.rejects(store.update('k', 'max-register', 'set', [9]), code('unknown_contract'))
    await store.close()
  }
  store = await open(dir, v2)
  assert.equal((await store.get('k'))?.value, 7)
  await store.close()
})

test('an unversioned key written before its contract took a version is refused by the versioned code', async () => {
  const dir = folders.next()
  let store = await open(dir, maxRegister)
  await store.update('old', 'max-register', 'set', [1])
  await store.close()
  store = await open(dir, { ...maxRegister, version: '2' })
  await assert.rejects(store.get('old'), code('unknown_contract'))
  await store.close()
})

test('remote deltas must name the key\'s version: another version (or none) is a contract this store lacks, and changes nothing', async () => {
  const dir = folders.next()
  const store = await open(dir, { ...maxRegister, version: '2' }, { ...cappedMax, version: 'b' })
  await store.update('k', 'max-register', 'set', [5])
  await assert.rejects(store.mergeRemote('k', { id: 'max-register', version: '1' }, 50, 'peer'), code('unknown_contract'))
  await assert.rejects(store.mergeRemote('k', 'max-register', 50, 'peer'), code('unknown_contract'))
  await assert.rejects(store.mergeRemote('new', 'max-register', 50, 'peer'), code('unknown_contract'), 'a new key is not bound by a delta of another version')
  await assert.rejects(store.mergeRemote('new2', { id: 'capped-max', params: { cap: 10 } }, 3, 'peer'), code('unknown_contract'))
  assert.equal(await store.get('new'), undefined)
  assert.deepEqual(await store.mergeRemote('k', { id: 'max-register', version: '2' }, 50, 'peer'), { changed: true })
  assert.deepEqual(await store.mergeRemote('new2', { id: 'capped-max', params: { cap: 10 }, version: 'b' }, 3, 'peer'), { changed: true })
  assert.deepEqual(await store.get('new2'), { key: 'new2', contract: { id: 'capped-max', params: { cap: 10 }, version: 'b' }, value: 3 })
  assert.equal((await store.get('k'))?.value, 50)
  await store.close()
})

test('a key whose contract is missing keeps its summary, hence its digest hash, read from its record without the contract', async () => {
  const dir = folders.next()
  const a = await open(dir, orSet, maxRegister)
  // Several writes each: after the first, they go to the key's delta tail (folded into the record at close).
  for (const x of ['a', 'b', 'c']) await a.update('set', 'or-set', 'add', [x])
  for (const n of [1, 4, 2]) await a.update('max', 'max-register', 'set', [n])
  const hashes = new Map<string, Uint8Array>()
  for (const key of ['set', 'max']) {
    const s = (await a.summary(key))!
    hashes.set(key, itemHash(key, s.contract, s.summary))
  }
  await a.close()

  for (const contracts of [[], [{ ...maxRegister, version: '2' }]]) {
    const b = await open(dir, ...contracts)
    for (const key of ['set', 'max']) {
      const s = await b.summary(key)
      assert.ok(s !== undefined, `${key}: summary known without its contract`)
      assert.deepEqual(itemHash(key, s.contract, s.summary), hashes.get(key), `${key}: same digest item hash as with the contract`)
      await assert.rejects(b.get(key), code('unknown_contract'))
      assert.equal(await b.deltaFor(key), undefined, 'no delta can be computed without the contract')
    }
    assert.deepEqual([...b.unresolved()].sort(), [['max', 'max-register'], ['set', 'or-set']])
    const [outcome] = await b.mergeRemoteMany([{ key: 'max', contract: 'max-register', delta: 9, origin: 'peer' }])
    assert.ok('error' in outcome && code('unknown_contract')(outcome.error), 'a remote delta is not merged')
    await b.close()
  }
  const c = await open(dir, orSet, maxRegister)
  assert.deepEqual((await c.get('set'))?.value, ['a', 'b', 'c'])
  assert.equal((await c.get('max'))?.value, 4)
  await c.close()
})

test('a key left with a delta tail by an unclean stop: its summary is unknown without the contract (not indexed), and nothing is lost', async () => {
  const dir = folders.next()
  const storage = await LevelStorage.open(dir)
  const a = await ReplicaStore.open({ storage, registry: registryWith(maxRegister) })
  for (const n of [1, 4, 2]) await a.update('max', 'max-register', 'set', [n])
  await storage.close() // as a crash would: the store does not fold its tails
  const b = await open(dir)
  assert.equal(await b.summary('max'), undefined)
  assert.deepEqual([...b.unresolved()], [['max', 'max-register']])
  await b.close()
  const c = await open(dir, maxRegister)
  assert.equal((await c.get('max'))?.value, 4)
  await c.close()
})
