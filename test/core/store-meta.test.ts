import assert from 'node:assert/strict'
import { after, it } from 'node:test'
import { decode, encode } from '../../core/codec.ts'
import { FORMAT, META_KEY, keyBytes, recordKey } from '../../core/key-layout.ts'
import { LevelStorage } from '../../core/level-storage.ts'
import { ReplicaStore } from '../../core/replica-store.ts'
import { openMeta } from '../../core/store-meta.ts'
import { MemoryStorage } from '../../core/storage.ts'
import { tempFolders, testRegistry } from '../helpers/store-fixtures.ts'

const folders = await tempFolders('meta')
after(folders.remove)
const registry = testRegistry()

it('a new store records the current format and its replica id', async () => {
  const storage = new MemoryStorage()
  assert.equal(await openMeta(storage, 'alice'), 'alice')
  assert.deepEqual(decode((await storage.get(META_KEY))!), { format: FORMAT, replica: 'alice' })
  assert.equal(await openMeta(storage, undefined), 'alice')
})

it('a format-1 folder (records without a tail) is read as is and upgraded to the current format', async () => {
  const path = folders.next()
  const storage = await LevelStorage.open(path)
  // What the format-1 store wrote: meta, and a record with no generation (canonical CBOR).
  await storage.batch([
    { type: 'put', key: META_KEY, value: encode({ format: 1, replica: 'old' }) },
    { type: 'put', key: recordKey(keyBytes('n')), value: encode({ c: 'pn-counter', s: { p: [['old', 7]], n: [] }, q: 7 }) }
  ])
  const store = await ReplicaStore.open({ storage, registry })
  assert.equal(store.replica, 'old')
  assert.equal((await store.get('n'))!.value, 7)
  for (let i = 0; i < 40; i++) await store.update('n', 'pn-counter', 'inc', [1]) // tails, folds
  await store.close()
  const again = await ReplicaStore.open({ storage: await LevelStorage.open(path), registry })
  assert.deepEqual(await again.get('n'), { key: 'n', contract: { id: 'pn-counter' }, value: 47 })
  assert.equal((await again.update('n', 'pn-counter', 'inc', [])).seq, 48)
  await again.close()
  const raw = await LevelStorage.open(path)
  assert.deepEqual(decode((await raw.get(META_KEY))!), { format: FORMAT, replica: 'old' })
  await raw.close()
})

it('a folder of an unknown format or without a valid meta record is refused, naming the folder', async () => {
  for (const meta of [{ format: 99, replica: 'x' }, { format: '2', replica: 'x' }, { replica: 'x' }, { format: FORMAT }]) {
    const path = folders.next()
    const storage = await LevelStorage.open(path)
    await storage.batch([{ type: 'put', key: META_KEY, value: encode(meta) }])
    await assert.rejects(openMeta(storage, undefined), (err: Error) => {
      assert.ok(err.message.includes(`data folder ${path}`), err.message)
      if ('format' in meta && 'replica' in meta) assert.match(err.message, /is in store format .*; this version reads formats 1 and 2 only/)
      return true
    })
    assert.deepEqual(decode((await storage.get(META_KEY))!), meta, 'a refused folder is left as it was')
    await storage.close()
  }
})
