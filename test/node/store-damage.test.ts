// Real nodes (createNode: LevelDB on disk, libp2p on 127.0.0.1) whose store folder is damaged between runs:
// a torn write-ahead log, a missing meta record. None may start empty, lose a write for good, or reuse a dot.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { access, mkdir, readdir, stat, truncate, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { META_KEY, keyBytes, recordKey } from '../../core/key-layout.ts'
import { LevelStorage } from '../../core/level-storage.ts'
import { DamagedStoreError } from '../../core/storage.ts'
import { type MonoidbNode, createNode } from '../../node/node.ts'
import { allHold, hasSubscribedPeer, nodeFixtures, until } from '../helpers/node-fixtures.ts'

const fx = await nodeFixtures('store-damage')
after(fx.cleanup)

/** A start that must be refused: a node that starts anyway is stopped, so a failing test leaves nothing running. */
async function refusedStart (dataDir: string): Promise<void> {
  await (await createNode({ dataDir })).stop()
}

/** A node's folder holding keys k0..k19 (value i + 1) in LevelDB tables: its replica id and the biggest table, [file, size]. */
async function twentyKeysInTables (): Promise<{ dir: string, store: string, id: string, biggest: readonly [string, number] }> {
  const dir = fx.folder()
  const first = await createNode({ dataDir: dir })
  const id = first.replica
  for (let i = 0; i < 20; i++) await first.update(`k${i}`, 'pn-counter', 'inc', [i + 1])
  await first.stop()
  await (await createNode({ dataDir: dir })).stop() // the writes move from the log into a table
  const store = join(dir, 'store')
  const tables = (await readdir(store)).filter(f => f.endsWith('.ldb')).sort()
  const biggest = (await Promise.all(tables.map(async f => [f, (await stat(join(store, f))).size] as const))).sort((x, y) => y[1] - x[1])[0]
  return { dir, store, id, biggest }
}

const range = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`)

/** Whether every node holds exactly `tags` in the or-set 'tags' (compared sorted: a set's view is in canonical order) and `hits`. */
async function allHoldAll (nodes: readonly MonoidbNode[], tags: readonly string[], hits: number): Promise<boolean> {
  const want = JSON.stringify([...tags].sort())
  for (const node of nodes) {
    const held = (await node.get('tags'))?.value as string[] | undefined
    if (JSON.stringify([...held ?? []].sort()) !== want) return false
  }
  return await allHold(nodes, 'hits', hits)
}

/** Cuts the newest LevelDB log of `dir`/store to `fraction` of its size, as a power loss can; returns the bytes cut. */
async function tearNewestLog (dir: string, fraction: number): Promise<number> {
  const store = join(dir, 'store')
  const logs = (await readdir(store)).filter(f => f.endsWith('.log')).sort()
  const path = join(store, logs[logs.length - 1])
  const { size } = await stat(path)
  await truncate(path, Math.floor(size * fraction))
  return size - Math.floor(size * fraction)
}

test('a torn log on B: B restarts under a new replica id, writes again, and A and B converge with no write lost', { timeout: 60_000 }, async () => {
  const a = await fx.start({})
  const bDir = fx.folder()
  const b = await fx.start({ dataDir: bDir, bootstrap: a.multiaddrs(), durability: 'process' })
  await until('A and B to connect and subscribe', () => hasSubscribedPeer(a, b) && hasSubscribedPeer(b, a), 10_000)
  const oldReplica = b.replica

  for (const v of range('a', 10)) { await a.update('tags', 'or-set', 'add', [v]); await a.update('hits', 'pn-counter', 'inc', [1]) }
  for (const v of range('b', 40)) { await b.update('tags', 'or-set', 'add', [v]); await b.update('hits', 'pn-counter', 'inc', [1]) }
  let tags = [...range('a', 10), ...range('b', 40)]
  await until('A and B to hold each other\'s writes', async () => await allHoldAll([a, b], tags, 50), 15_000)
  await b.stop()
  const cut = await tearNewestLog(bDir, 0.3)
  assert.ok(cut > 0, 'the log held something to cut')

  // B alone first, to see what the torn log cost it before any peer refills it.
  const b2 = await createNode({ dataDir: bDir, durability: 'process' })
  let b2Stopped = false
  try {
    assert.notEqual(b2.replica, oldReplica, 'B takes a new replica id after the torn log')
    assert.deepEqual(b2.replacedReplica, { replica: oldReplica, reason: 'unclean' })
    const held = ((await b2.get('tags'))?.value ?? []) as string[]
    assert.ok(held.length < 50, `the torn log lost some of B's adds (B still holds ${held.length} of 50)`)
    // B writes again: under its old id these would reuse dots that A holds for other adds.
    for (const v of range('b2', 10)) { await b2.update('tags', 'or-set', 'add', [v]); await b2.update('hits', 'pn-counter', 'inc', [1]) }
    await b2.stop()
    b2Stopped = true
  } finally {
    if (!b2Stopped) await b2.stop()
  }

  const b3 = await fx.start({ dataDir: bDir, bootstrap: a.multiaddrs(), durability: 'process' })
  assert.equal(b3.replacedReplica, undefined, 'a clean stop keeps the new id')
  for (const v of range('a2', 5)) { await a.update('tags', 'or-set', 'add', [v]); await a.update('hits', 'pn-counter', 'inc', [1]) }
  tags = [...tags, ...range('b2', 10), ...range('a2', 5)]
  let seen = ''
  await until('A and B to converge on every write', async () => {
    seen = JSON.stringify([(await a.get('hits'))?.value, (await b3.get('hits'))?.value, ((await a.get('tags'))?.value as string[]).length, ((await b3.get('tags'))?.value as string[] | undefined)?.length])
    return await allHoldAll([a, b3], tags, 65)
  }, 20_000).catch(err => { throw new Error(`${(err as Error).message}; [hits A, hits B, #tags A, #tags B] = ${seen}, want [65, 65, ${tags.length}, ${tags.length}]`) })
})

test('a store folder with files but no meta record is refused, naming the repair, and left as it was', { timeout: 20_000 }, async () => {
  const dir = fx.folder()
  const node = await createNode({ dataDir: dir })
  await node.update('k', 'pn-counter', 'inc', [3])
  await node.stop()
  const raw = await LevelStorage.open(join(dir, 'store'))
  await raw.batch([{ type: 'del', key: META_KEY }])
  await raw.close()
  await assert.rejects(refusedStart(dir), (err: Error) => {
    assert.ok(err instanceof DamagedStoreError, String(err))
    assert.match(err.message, /holds data but no store meta record/)
    assert.match(err.message, /Not starting it empty/)
    assert.ok(err.message.includes(`monoidb repair --data ${dir}`), err.message)
    return true
  })
  const again = await LevelStorage.open(join(dir, 'store'))
  assert.equal(await again.get(META_KEY), undefined, 'the refusal wrote no meta record')
  await again.close()

})

test('a first start that died before writing the meta record (an empty LevelDB folder, or only its lock and info log) starts', { timeout: 20_000 }, async () => {
  // An empty database has nothing to lose: refusing it would leave a node that needs a repair for nothing.
  const bare = fx.folder()
  await (await LevelStorage.open(join(bare, 'store'))).close()
  const early = fx.folder()
  await mkdir(join(early, 'store'), { recursive: true })
  await writeFile(join(early, 'store', 'LOCK'), '')
  await writeFile(join(early, 'store', 'LOG'), 'what LevelDB writes first\n')
  for (const dir of [bare, early]) {
    const node = await createNode({ dataDir: dir })
    let replica = ''
    try {
      replica = node.replica
      assert.equal(node.replacedReplica, undefined)
      await node.update('k', 'pn-counter', 'inc', [4])
    } finally {
      await node.stop()
    }
    const again = await createNode({ dataDir: dir })
    try {
      assert.equal(again.replica, replica, 'it is a store now: a clean restart keeps its id')
      assert.equal((await again.get('k'))?.value, 4)
    } finally {
      await again.stop()
    }
  }
})

test('createNode refuses an unknown durability, naming it, before touching the folder', async () => {
  const dir = fx.folder()
  await assert.rejects(createNode({ dataDir: dir, durability: 'disk' as never }), /durability must be 'power' or 'process', got "disk"/)
  await assert.rejects(access(dir), 'no data folder was created')
})

test('a table file gone is refused as corrupt, naming the repair; the repair keeps what remains and the next start takes a new replica id', { timeout: 30_000 }, async () => {
  const { repairStore } = await import('../../node/repair.ts')
  const { dir, store, id, biggest } = await twentyKeysInTables()
  await unlink(join(store, biggest[0]))
  await assert.rejects(refusedStart(dir), (err: Error) => {
    assert.ok(err instanceof DamagedStoreError, String(err))
    assert.match(err.message, /is corrupt \(LevelDB: Corruption: 1 missing files/)
    assert.ok(err.message.includes(`monoidb repair --data ${dir}`), err.message)
    return true
  })
  const { keys, previous } = await repairStore(store)
  assert.ok(keys < 20, `the lost table held keys (the repair found ${keys} of 20)`)
  assert.equal(previous, id, 'the meta record, written at every open, survives in another table')
  const after = await createNode({ dataDir: dir })
  try {
    assert.deepEqual(after.replacedReplica, { replica: id, reason: 'repaired' })
    assert.notEqual(after.replica, id)
    assert.equal((await after.keys()).length, keys, 'the node holds what the repair counted')
    for (const key of await after.keys()) assert.equal((await after.get(key))?.value, Number(key.slice(1)) + 1, `${key} is intact`)
  } finally {
    await after.stop()
  }
})

test('a table overwritten with garbage, found only when the keys are loaded, is refused naming the repair; the repair keeps what remains', { timeout: 30_000 }, async () => {
  const { repairStore } = await import('../../node/repair.ts')
  const { dir, store, id, biggest } = await twentyKeysInTables()
  // The meta record is rewritten (and checkpointed) at every open, so it is in a newer, smaller table: LevelDB opens,
  // the meta record reads, and the garbage is found by the first read of a key record.
  await writeFile(join(store, biggest[0]), Buffer.alloc(biggest[1], 0x78))
  await assert.rejects(refusedStart(dir), (err: Error) => {
    assert.ok(err instanceof DamagedStoreError, String(err))
    assert.match(err.message, /is corrupt \(LevelDB: Corruption: not an sstable/)
    assert.ok(err.message.includes(`monoidb repair --data ${dir}`), err.message)
    return true
  })
  const { keys, previous } = await repairStore(store)
  assert.ok(keys < 20, `the garbage table held keys (the repair found ${keys} of 20)`)
  assert.equal(previous, id)
  const after = await createNode({ dataDir: dir })
  try {
    assert.deepEqual(after.replacedReplica, { replica: id, reason: 'repaired' })
    assert.equal((await after.keys()).length, keys)
    for (const key of await after.keys()) assert.equal((await after.get(key))?.value, Number(key.slice(1)) + 1, `${key} is intact`)
  } finally {
    await after.stop()
  }
})

test('every kind of folder damage stops a node from starting with a DamagedStoreError naming the problem and the repair; after the repair it starts under a new replica id', { timeout: 60_000 }, async () => {
  const { repairStore } = await import('../../node/repair.ts')
  const { damages } = await import('../helpers/store-damage.ts')
  for (const { name, damage, refusal, read } of damages) {
    const dir = fx.folder()
    const first = await createNode({ dataDir: dir })
    for (let i = 0; i < 20; i++) await first.update(`k${i}`, 'pn-counter', 'inc', [i + 1])
    await first.stop()
    await (await createNode({ dataDir: dir })).stop() // the writes move from the log into a table
    const store = join(dir, 'store')
    await damage(store)
    const files = async (): Promise<string[]> => (await readdir(store)).filter(f => !/^(LOG|LOG\.old|LOCK)$/.test(f)).sort()
    const before = await files()
    await assert.rejects(refusedStart(dir), (err: Error) => {
      assert.ok(err instanceof DamagedStoreError, `${name}: ${String(err)}`)
      assert.match(err.message, refusal, name)
      assert.ok(err.message.includes(`monoidb repair --data ${dir}`), `${name}: ${err.message}`)
      return true
    })
    // Found at open, the refusal changes nothing; found by a read, LevelDB's open has already replayed its log.
    if (read !== true) assert.deepEqual(await files(), before, `${name}: the refused start changed no file`)
    await repairStore(store)
    const after = await createNode({ dataDir: dir })
    try {
      assert.equal(after.replacedReplica?.reason, 'repaired', name)
      for (const key of await after.keys()) assert.equal((await after.get(key))?.value, Number(key.slice(1)) + 1, `${name}: ${key} is intact`)
    } finally {
      await after.stop()
    }
  }
})

test('a key record that does not decode stops the start with a DamagedStoreError naming the repair', { timeout: 20_000 }, async () => {
  const dir = fx.folder()
  const a = await createNode({ dataDir: dir })
  await a.update('good', 'g-counter', 'inc', [1])
  await a.update('bad', 'g-counter', 'inc', [2])
  await a.stop()
  const storage = await LevelStorage.open(join(dir, 'store'))
  await storage.batch([{ type: 'put', key: recordKey(keyBytes('bad')), value: new Uint8Array([0xff, 0x00, 0x13]) }])
  await storage.close()
  await assert.rejects(refusedStart(dir), (err: Error) => err instanceof DamagedStoreError && /record of key "bad" is corrupt/.test(err.message) && err.message.includes(`monoidb repair --data ${dir}`))
})
