// node/repair.ts on real LevelDB folders and real nodes: a repair that did not finish is not taken for one
// that did, and a folder that is not a monoidb store is not repaired into one.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { access, mkdir, readFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decode, encode } from '../../core/codec.ts'
import { META_KEY, keyBytes, recordKey } from '../../core/key-layout.ts'
import { LevelStorage } from '../../core/level-storage.ts'
import { DamagedStoreError } from '../../core/storage.ts'
import { createNode } from '../../node/node.ts'
import { repairMarker, repairStore } from '../../node/repair.ts'
import { nodeFixtures } from '../helpers/node-fixtures.ts'

const fx = await nodeFixtures('repair')
after(fx.cleanup)

/** A start that must be refused: a node that starts anyway is stopped, so a failing test leaves nothing running. */
async function refusedStart (dataDir: string): Promise<void> {
  await (await createNode({ dataDir })).stop()
}

/** Every file of a folder with a hash of its content. */
async function contents (path: string): Promise<Array<[string, string]>> {
  return await Promise.all((await readdir(path)).sort().map(async f => [f, createHash('sha256').update(await readFile(join(path, f))).digest('hex')] as [string, string]))
}

test('a repair that began and did not finish: the node refuses to start, naming the repair; running it again finishes it and the next start takes a new replica id', { timeout: 30_000 }, async () => {
  const dir = fx.folder()
  const first = await createNode({ dataDir: dir })
  const id = first.replica
  await first.update('k', 'pn-counter', 'inc', [5])
  await first.stop() // a clean stop: without the marker, the next start would keep this id
  const store = join(dir, 'store')
  // What an interrupted repair leaves: its marker, and a LevelDB folder that opens (the repair rebuilt it) whose
  // meta record still says "closed cleanly", as the repair had not marked it yet.
  await writeFile(repairMarker(store), 'a repair began\n')
  await assert.rejects(refusedStart(dir), (err: Error) => {
    assert.ok(err instanceof DamagedStoreError, String(err))
    assert.match(err.message, /a repair of store folder .* began and did not finish/)
    assert.ok(err.message.includes(`monoidb repair --data ${dir}`), err.message)
    return true
  })
  const { keys, previous } = await repairStore(store)
  assert.equal(keys, 1)
  assert.equal(previous, id)
  await assert.rejects(access(repairMarker(store)), 'a finished repair removes its marker')
  const next = await createNode({ dataDir: dir })
  try {
    assert.deepEqual(next.replacedReplica, { replica: id, reason: 'repaired' })
    assert.equal((await next.get('k'))?.value, 5)
  } finally {
    await next.stop()
  }
})

test('a folder with no LevelDB files is not repaired into a store; nothing in it changes', async () => {
  const store = join(fx.folder(), 'store')
  await mkdir(store, { recursive: true })
  await writeFile(join(store, 'notes.txt'), 'not a database')
  const before = await contents(store)
  await assert.rejects(repairStore(store), /holds no LevelDB database \(no CURRENT, MANIFEST, table or log file\): not a monoidb store, not repairing it/)
  assert.deepEqual(await contents(store), before)
  await assert.rejects(access(repairMarker(store)), 'no marker is left')
})

test('another program\'s LevelDB (no meta record, keys monoidb never writes) is not repaired into a store, healthy or damaged', async () => {
  for (const damaged of [false, true]) {
    const store = join(fx.folder(), 'store')
    const other = await LevelStorage.open(store)
    await other.batch([{ type: 'put', key: new TextEncoder().encode('user:1'), value: Uint8Array.of(1) }])
    await other.checkpoint()
    await other.close()
    if (damaged) await writeFile(join(store, 'CURRENT'), 'garbage\n')
    await assert.rejects(repairStore(store), (err: Error) => {
      assert.match(err.message, /is not a monoidb store: it has no store meta record and holds keys monoidb never writes \(such as 0x757365723a31\)/)
      assert.match(err.message, damaged ? /LevelDB's repair ran, no meta record was written/ : /not repairing it$/)
      return true
    })
    const after = await LevelStorage.open(store, { createIfMissing: false })
    assert.equal(await after.get(META_KEY), undefined, 'no meta record was written')
    assert.deepEqual([...(await after.get(new TextEncoder().encode('user:1')))!], [1], 'its data is as it was')
    await after.close()
    await assert.rejects(access(repairMarker(store)), 'no marker is left')
  }
})

test('a store that opens but whose meta record sits in a garbage table is repaired, not refused', async () => {
  const store = join(fx.folder(), 'store')
  const s = await LevelStorage.open(store)
  await s.batch([{ type: 'put', key: META_KEY, value: encode({ format: 3, replica: 'r', base: 'r', clean: true }) }, { type: 'put', key: recordKey(keyBytes('n')), value: encode({ c: 'pn-counter', s: { p: [['r', 1]], n: [] }, q: 1 }) }])
  await s.checkpoint() // into a table, the log left empty: LevelDB opens, and the first read of the meta record fails
  await s.close()
  for (const f of (await readdir(store)).filter(f => f.endsWith('.ldb'))) await writeFile(join(store, f), 'x'.repeat(5000))
  const { keys, previous } = await repairStore(store)
  assert.deepEqual({ keys, previous }, { keys: 0, previous: undefined }, 'the garbage table held everything; the repair marks the store')
  const after = await LevelStorage.open(store, { createIfMissing: false })
  assert.equal((decode((await after.get(META_KEY))!) as { repaired?: boolean }).repaired, true)
  await after.close()
})
