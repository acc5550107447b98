import assert from 'node:assert/strict'
import { readdir, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { decode, encode } from '../../core/codec.ts'
import { FORMAT, META_KEY, keyBytes, logKey, recordKey } from '../../core/key-layout.ts'
import { LevelStorage } from '../../core/level-storage.ts'
import { ReplicaStore } from '../../core/replica-store.ts'
import { forgetCleanClose, markRepaired, openMeta } from '../../core/store-meta.ts'
import { DamagedStoreError, MemoryStorage, type Storage } from '../../core/storage.ts'
import { tempFolders, testRegistry } from '../helpers/store-fixtures.ts'

const folders = await tempFolders('meta')
after(folders.remove)
const registry = testRegistry()

const metaOf = async (storage: Storage): Promise<unknown> => decode((await storage.get(META_KEY))!)
/** The dots of an or-set view's elements, from its state: [element, replica, seq]. */
type OrSetState = { e: Array<[string, [string, number]]> }

it('a new store records the current format and its replica id, unclean while open and clean once closed', async () => {
  const storage = new MemoryStorage()
  const store = await ReplicaStore.open({ storage, registry, replica: 'alice' })
  assert.equal(store.replica, 'alice')
  assert.equal(store.replaced, undefined)
  assert.deepEqual(await metaOf(storage), { format: FORMAT, replica: 'alice', base: 'alice', clean: false })
  await store.close()
  const again = storage.reopen()
  assert.deepEqual(await metaOf(again), { format: FORMAT, replica: 'alice', base: 'alice', clean: true })
  const reopened = await ReplicaStore.open({ storage: again, registry })
  assert.equal(reopened.replica, 'alice', 'a clean close keeps the replica id')
  assert.equal(reopened.replaced, undefined)
  await reopened.close()
})

it('a store that was not closed cleanly takes a new replica id before its first write, and never reuses a dot', async () => {
  const storage = new MemoryStorage()
  const first = await ReplicaStore.open({ storage, registry })
  for (const v of ['a', 'b', 'c']) await first.update('s', 'or-set', 'add', [v])
  await storage.close() // the process dies: the store never closes
  const storage2 = storage.reopen()
  const second = await ReplicaStore.open({ storage: storage2, registry })
  assert.notEqual(second.replica, first.replica)
  assert.match(second.replica, /^[0-9a-f]{24}$/)
  assert.deepEqual(second.replaced, { replica: first.replica, reason: 'unclean' })
  const { delta } = await second.update('s', 'or-set', 'add', ['d'])
  assert.deepEqual((delta as OrSetState).e, [['d', [second.replica, 1]]], 'the new epoch numbers its dots from 1 under its new id')
  await second.close()
  const third = await ReplicaStore.open({ storage: storage2.reopen(), registry })
  assert.equal(third.replica, second.replica, 'the new id is kept by a clean close')
  await third.close()
})

it('a pinned id takes <id>+<12 hex> after an unclean close; the pin still matches, another id is refused', async () => {
  const storage = new MemoryStorage()
  await ReplicaStore.open({ storage, registry, replica: 'p0' })
  await storage.close()
  const storage2 = storage.reopen()
  const store = await ReplicaStore.open({ storage: storage2, registry, replica: 'p0' })
  assert.match(store.replica, /^p0\+[0-9a-f]{12}$/)
  await store.close()
  const again = storage2.reopen()
  await assert.rejects(ReplicaStore.open({ storage: again, registry, replica: 'p1' }), /belongs to replica p0, not p1/)
  assert.equal((await ReplicaStore.open({ storage: again, registry, replica: 'p0' })).replica, store.replica)
})

it('a torn LevelDB log cannot take back the open marker: the store takes a new id, and its next writes reuse no dot', async () => {
  const path = folders.next()
  // A store that ran before: its meta record is in a table, not only in the log this run writes.
  await (await ReplicaStore.open({ storage: await LevelStorage.open(path), registry })).close()
  const first = await ReplicaStore.open({ storage: await LevelStorage.open(path), registry })
  const seen = new Set<string>()
  for (let i = 0; i < 50; i++) {
    const { delta } = await first.update('s', 'or-set', 'add', [`v${i}`])
    for (const [, dot] of (delta as OrSetState).e) seen.add(JSON.stringify(dot))
  }
  await first.close()
  // A power loss can cut the newest log anywhere: here all of it (the writes and the clean-close marker).
  const logs = (await readdir(path)).filter(f => f.endsWith('.log')).sort()
  await truncate(join(path, logs[logs.length - 1]), 0)
  const second = await ReplicaStore.open({ storage: await LevelStorage.open(path, { createIfMissing: false }), registry })
  assert.ok(((await second.get('s'))?.value as string[] | undefined ?? []).length < 50, 'the truncation lost writes')
  assert.notEqual(second.replica, first.replica, 'a new replica id after the torn log')
  for (let i = 0; i < 50; i++) {
    const { delta } = await second.update('s', 'or-set', 'add', [`w${i}`])
    for (const [, dot] of (delta as OrSetState).e) assert.ok(!seen.has(JSON.stringify(dot)), `dot ${JSON.stringify(dot)} was already used for another element`)
  }
  await second.close()
})

it('a repaired store takes a new replica id at its next open, saying why', async () => {
  const storage = new MemoryStorage()
  const first = await ReplicaStore.open({ storage, registry })
  await first.close()
  const s2 = storage.reopen()
  assert.equal(await markRepaired(s2), first.replica)
  const store = await ReplicaStore.open({ storage: s2, registry })
  assert.deepEqual(store.replaced, { replica: first.replica, reason: 'repaired' })
  await store.close()
  // A repair that found no meta record writes one, so the store opens (under a new id) instead of being refused.
  const bare = new MemoryStorage()
  await bare.batch([{ type: 'put', key: recordKey(keyBytes('n')), value: encode({ c: 'pn-counter', s: { p: [['x', 1]], n: [] }, q: 1 }) }])
  assert.equal(await markRepaired(bare), undefined)
  const opened = await ReplicaStore.open({ storage: bare, registry })
  assert.equal((await opened.get('n'))?.value, 1)
  await opened.close()
})

it('a storage that holds data but no meta record is refused and left as it was', async () => {
  const storage = new MemoryStorage()
  await storage.batch([{ type: 'put', key: recordKey(keyBytes('n')), value: encode({ c: 'pn-counter', s: { p: [['x', 1]], n: [] }, q: 1 }) }])
  await assert.rejects(ReplicaStore.open({ storage, registry }), (err: Error) => err instanceof DamagedStoreError && /holds data but no store meta record/.test(err.message))
  assert.equal(await storage.get(META_KEY), undefined)
  // Any record at all counts, a delta log entry alone too.
  const logOnly = new MemoryStorage()
  await logOnly.batch([{ type: 'put', key: logKey(keyBytes('n'), 1), value: encode({ p: [['x', 1]], n: [] }) }])
  await assert.rejects(openMeta(logOnly, undefined), DamagedStoreError)
  assert.equal(await logOnly.get(META_KEY), undefined)
})

it('an empty LevelDB folder without a meta record (a first start that died before writing it) is initialised, not refused', async () => {
  const path = folders.next()
  await (await LevelStorage.open(path)).close() // LevelDB made its files; the process died before the meta record
  const storage = await LevelStorage.open(path, { createIfMissing: false })
  const store = await ReplicaStore.open({ storage, registry, replica: 'first' })
  assert.equal(store.replica, 'first')
  assert.equal(store.replaced, undefined)
  await store.update('n', 'pn-counter', 'inc', [2])
  await store.close()
  const again = await ReplicaStore.open({ storage: await LevelStorage.open(path, { createIfMissing: false }), registry })
  assert.equal(again.replica, 'first')
  assert.equal((await again.get('n'))?.value, 2)
  await again.close()
})

it('format-1 and format-2 folders are upgraded to the current format under a new replica id (no clean close was recorded), keeping their data', async () => {
  for (const format of [1, 2]) {
    const path = folders.next()
    const storage = await LevelStorage.open(path)
    // What the format-1 store wrote: meta, and a record with no generation (canonical CBOR); format 2 wrote the same meta.
    await storage.batch([
      { type: 'put', key: META_KEY, value: encode({ format, replica: 'old' }) },
      { type: 'put', key: recordKey(keyBytes('n')), value: encode({ c: 'pn-counter', s: { p: [['old', 7]], n: [] }, q: 7 }) }
    ])
    const store = await ReplicaStore.open({ storage, registry })
    assert.notEqual(store.replica, 'old', `format ${format}: a new replica id`)
    assert.deepEqual(store.replaced, { replica: 'old', reason: 'upgraded' })
    assert.equal((await store.get('n'))!.value, 7)
    const { delta } = await store.update('n', 'pn-counter', 'inc', [1])
    assert.deepEqual(delta, { p: [[store.replica, 1]], n: [] }, 'the first write after the upgrade is counted under the new id, from 1')
    for (let i = 0; i < 39; i++) await store.update('n', 'pn-counter', 'inc', [1]) // tails, folds
    await store.close()
    const again = await ReplicaStore.open({ storage: await LevelStorage.open(path), registry })
    assert.equal(again.replica, store.replica, 'a clean close after the upgrade keeps the new id')
    assert.equal(again.replaced, undefined)
    assert.deepEqual(await again.get('n'), { key: 'n', contract: { id: 'pn-counter' }, value: 47 })
    assert.equal((await again.update('n', 'pn-counter', 'inc', [])).seq, 48)
    await again.close()
    const raw = await LevelStorage.open(path)
    assert.deepEqual(await metaOf(raw), { format: FORMAT, replica: store.replica, base: 'old', clean: true })
    await raw.close()
  }
})

it('a folder of an unknown format or without a valid meta record is refused, naming the folder', async () => {
  const bad = [{ format: 99, replica: 'x' }, { format: '2', replica: 'x' }, { replica: 'x' }, { format: FORMAT }, { format: FORMAT, replica: 'x', base: 'x' }, { format: FORMAT, replica: 'x', clean: true }]
  for (const meta of bad) {
    const path = folders.next()
    const storage = await LevelStorage.open(path)
    await storage.batch([{ type: 'put', key: META_KEY, value: encode(meta) }])
    await assert.rejects(openMeta(storage, undefined), (err: Error) => {
      assert.ok(err.message.includes(`store folder ${path}`), err.message)
      // A format this version does not know is not damage (a newer version's folder); a bad record is.
      if ('replica' in meta && meta.format !== FORMAT) assert.match(err.message, /is in store format .*; this version reads formats 1, 2 and 3 only/)
      else assert.ok(err instanceof DamagedStoreError, `${JSON.stringify(meta)}: ${err.message}`)
      return true
    })
    assert.deepEqual(await metaOf(storage), meta, 'a refused folder is left as it was')
    await storage.close()
  }
})

it('newReplicaId names a new epoch; an id the store used is refused; forgetCleanClose makes the next open a new epoch', async () => {
  const storage = new MemoryStorage()
  await (await ReplicaStore.open({ storage, registry, replica: 'p0' })).close()
  let s = storage.reopen()
  await forgetCleanClose(s)
  assert.deepEqual(await metaOf(s), { format: FORMAT, replica: 'p0', base: 'p0', clean: false })
  await assert.rejects(ReplicaStore.open({ storage: s, registry, replica: 'p0', newReplicaId: base => base }), /newReplicaId gave "p0" for a new epoch of p0: it must be a replica id this store has not used/)
  assert.deepEqual(await metaOf(s), { format: FORMAT, replica: 'p0', base: 'p0', clean: false }, 'a refused id changes nothing')
  const store = await ReplicaStore.open({ storage: s, registry, replica: 'p0', newReplicaId: base => `${base}+1` })
  assert.equal(store.replica, 'p0+1')
  await store.close()
  s = s.reopen()
  const clean = await ReplicaStore.open({ storage: s, registry, newReplicaId: () => 'unused' })
  assert.equal(clean.replica, 'p0+1', 'after a clean close newReplicaId is not called')
  await clean.close()
  s = s.reopen()
  await forgetCleanClose(s)
  await assert.rejects(ReplicaStore.open({ storage: s, registry, newReplicaId: () => 'p0+1' }), /newReplicaId gave "p0\+1" for a new epoch of p0\+1/)
})

it('an open that fails between clearing the clean-close marker and the checkpoint leaves the marker cleared: the next open takes a new id', async () => {
  const storage = new MemoryStorage()
  await (await ReplicaStore.open({ storage, registry })).close()
  const failing = storage.reopen()
  const { replica } = await metaOf(failing) as { replica: string }
  // A checkpoint that fails (a full disk, a damaged table): the open fails after the marker was cleared durably.
  Object.assign(failing, { checkpoint: async () => { throw new Error('disk full') } })
  await assert.rejects(ReplicaStore.open({ storage: failing, registry }), /disk full/)
  assert.deepEqual(await metaOf(failing), { format: FORMAT, replica, base: replica, clean: false }, 'the failed open cleared the marker and wrote nothing else')
  await failing.close()
  const next = await ReplicaStore.open({ storage: failing.reopen(), registry })
  assert.deepEqual(next.replaced, { replica, reason: 'unclean' }, 'whatever the failed open did is not taken for a clean close')
  await next.close()
})
