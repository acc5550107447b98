// Write ids across epochs kept in the key record (core/write-epochs.ts): a write id does not depend on how
// many restarts came since, inspection names the log as `update` did, and records from before epochs open.
import assert from 'node:assert/strict'
import { after, it } from 'node:test'
import { decode, encodeLocal } from '../../core/codec.ts'
import { decodeRecord } from '../../core/key-record.ts'
import { recordKey } from '../../core/key-layout.ts'
import { LevelStorage } from '../../core/level-storage.ts'
import { ReplicaStore } from '../../core/replica-store.ts'
import { Journal } from '../../core/sync/journal.ts'
import { readLocal, writeStatus } from '../../core/sync/inspection.ts'
import { epochsAfterWrite, replicaOfSeq } from '../../core/write-epochs.ts'
import { tempFolders, testRegistry } from '../helpers/store-fixtures.ts'

const registry = testRegistry()
const folders = await tempFolders('write-epochs')
after(async () => { await folders.remove() })
const kb = new TextEncoder().encode('s')

async function open (dir: string, deltaLogLimit?: number): Promise<ReplicaStore> {
  return await ReplicaStore.open({ storage: await LevelStorage.open(dir), registry, replica: 'p0', deltaLogLimit })
}
/** Stops without a clean close: the next open takes a new replica id. */
async function die (store: ReplicaStore): Promise<void> {
  await storageOf.get(store)!.close()
}
const storageOf = new WeakMap<ReplicaStore, LevelStorage>()
async function openKept (dir: string, deltaLogLimit?: number): Promise<ReplicaStore> {
  const storage = await LevelStorage.open(dir)
  const store = await ReplicaStore.open({ storage, registry, replica: 'p0', deltaLogLimit })
  storageOf.set(store, storage)
  return store
}
async function ids (store: ReplicaStore): Promise<string[]> {
  return (await store.deltaLog('s')).map(d => (d as { id?: string }).id ?? store.writeIdOf('s', d.seq))
}

it('write ids made before a new epoch keep their names after a later clean restart', async () => {
  const dir = folders.next()
  const first = await openKept(dir)
  await first.update('s', 'or-set', 'add', ['a'])
  await first.update('s', 'or-set', 'add', ['b'])
  await die(first)
  const second = await openKept(dir)
  const r2 = second.replica
  assert.notEqual(r2, 'p0')
  assert.equal((await second.update('s', 'or-set', 'add', ['c'])).write, `${r2}/3`)
  assert.deepEqual(await ids(second), ['p0/1', 'p0/2', `${r2}/3`])
  await second.close()
  const third = await open(dir)
  assert.equal(third.replaced, undefined)
  assert.deepEqual(await ids(third), ['p0/1', 'p0/2', `${r2}/3`])
  assert.equal(third.writeIdOf('s', 1), 'p0/1')
  await third.close()
})

it('three epochs in one key\'s log are each named by their own id', async () => {
  const dir = folders.next()
  const got: string[] = []
  let s = await openKept(dir)
  for (let round = 0; round < 3; round++) {
    got.push((await s.update('s', 'pn-counter', 'inc', [1])).write!)
    got.push((await s.update('s', 'pn-counter', 'inc', [1])).write!)
    await die(s)
    s = await openKept(dir)
  }
  assert.equal(new Set(got.map(g => g.split('/')[0])).size, 3)
  assert.deepEqual(await ids(s), got)
  await s.close()
})

it('inspection of the log (as the node wires it) names writes as update returned them, and trace finds them', async () => {
  const dir = folders.next()
  const first = await openKept(dir)
  const w1 = (await first.update('s', 'or-set', 'add', ['a'])).write!
  const w2 = (await first.update('s', 'or-set', 'add', ['b'])).write!
  await die(first)
  const store = await open(dir)
  const src = {
    replica: store.replica,
    summary: async (k: string) => await store.summary(k),
    deltaFor: async (k: string, t?: unknown) => await store.deltaFor(k, t),
    deltaLog: async (k: string) => await store.deltaLog(k),
    resolve: (b: any) => registry.resolveBound(b),
    keeps: () => true,
    lacking: () => undefined,
    journal: new Journal()
  }
  assert.deepEqual((await readLocal(src as any, 's')).log.map(l => l.id), [w1, w2])
  assert.notEqual(await writeStatus(src as any, 's', w2), undefined, 'the writer recognises its own write')
  await store.close()
})

it('a record from before epochs opens; its entries are named as well as can be known, and the next write records epochs', async () => {
  const dir = folders.next()
  const first = await openKept(dir)
  await first.update('s', 'or-set', 'add', ['a'])
  await first.update('s', 'or-set', 'add', ['b'])
  await first.close()
  // Rewrite the record as a version before epochs wrote it: no `e`.
  const raw = await LevelStorage.open(dir)
  const rec = decode(await raw.get(recordKey(kb)) as Uint8Array) as Record<string, any>
  assert.ok(Array.isArray(rec.e))
  delete rec.e
  await raw.batch([{ type: 'put', key: recordKey(kb), value: encodeLocal(rec) }])
  await raw.close()
  const again = await openKept(dir)
  assert.deepEqual(await ids(again), ['p0/1', 'p0/2'], 'clean since: the current id')
  await die(again)
  const after = await open(dir)
  assert.deepEqual(await ids(after), ['p0/1', 'p0/2'], 'before any write of the new epoch: the replaced id')
  await after.update('s', 'or-set', 'add', ['c'])
  assert.deepEqual(await ids(after), ['p0/1', 'p0/2', `${after.replica}/3`])
  await after.close()
  const raw2 = await LevelStorage.open(dir)
  assert.deepEqual(decodeRecord(await raw2.get(recordKey(kb)) as Uint8Array, 's').epochs, [['p0', 1], [after.replica, 3]])
  await raw2.close()
})

it('a key keeps only the epochs its log window needs; malformed epochs are a damaged record', async () => {
  const dir = folders.next()
  let s = await openKept(dir, 3)
  for (let round = 0; round < 4; round++) {
    await s.update('s', 'pn-counter', 'inc', [1])
    await s.update('s', 'pn-counter', 'inc', [1])
    await die(s)
    s = await openKept(dir, 3)
  }
  await s.update('s', 'pn-counter', 'inc', [1])
  const logged = await ids(s)
  assert.equal(logged.length, 3)
  await s.close()
  const raw = await LevelStorage.open(dir)
  const epochs = decodeRecord(await raw.get(recordKey(kb)) as Uint8Array, 's').epochs
  assert.ok(epochs.length <= 3, JSON.stringify(epochs))
  await raw.close()
  assert.deepEqual(epochsAfterWrite([['a', 1], ['b', 5]], 9, 'c', 'x', 4), [['b', 5], ['c', 9]])
  assert.equal(replicaOfSeq([['a', 1], ['b', 5]], 4), 'a')
  assert.equal(replicaOfSeq([['a', 3]], 2), undefined)
  for (const bad of [7, [['a', 0]], [['a', 2], ['b', 2]], [['', 1]], [['a']]]) {
    assert.throws(() => decodeRecord(encodeLocal({ c: 'pn-counter', s: {}, q: 1, e: bad as any }), 'k'), /bad epochs/, JSON.stringify(bad))
  }
})
