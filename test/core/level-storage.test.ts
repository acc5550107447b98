import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { LevelStorage } from '../../core/level-storage.ts'
import { storageAcceptance } from '../helpers/storage-acceptance.ts'
import { damages } from '../helpers/store-damage.ts'

const root = await mkdtemp(join(tmpdir(), 'monoidb-level-'))
after(async () => { await rm(root, { recursive: true, force: true }) })
let n = 0
const fresh = (): string => join(root, `db${n++}`)

storageAcceptance('LevelStorage', {
  create: async () => await LevelStorage.open(fresh()),
  reopen: async closed => await LevelStorage.open((closed as LevelStorage).path),
  numRuns: 40
})

storageAcceptance('LevelStorage { sync: true }', {
  create: async () => await LevelStorage.open(fresh(), { sync: true }),
  numRuns: 10
})

it('a second open of the same folder fails with an error naming the folder', async () => {
  const path = fresh()
  const first = await LevelStorage.open(path)
  try {
    await assert.rejects(LevelStorage.open(path), (err: Error) => {
      assert.match(err.message, /already open/)
      assert.ok(err.message.includes(path), err.message)
      return true
    })
  } finally {
    await first.close()
  }
  const again = await LevelStorage.open(path) // the lock is released on close
  await again.close()
})

it('an unopenable folder fails with an error naming it', async () => {
  const path = join(root, 'not-a-dir')
  await (await import('node:fs/promises')).writeFile(path, 'x')
  await assert.rejects(LevelStorage.open(path), (err: Error) => err.message.includes(path))
})

const FS = await import('node:fs/promises')
const entry = (i: number): [Uint8Array, Uint8Array] => [Uint8Array.of(1, i), Uint8Array.of(i, i)]

it('a folder whose CURRENT file is gone is refused with createIfMissing false (DamagedStoreError), left as it was, and repair brings its data back', async () => {
  const { DamagedStoreError } = await import('../../core/storage.ts')
  const path = fresh()
  const s = await LevelStorage.open(path)
  await s.batch(Array.from({ length: 20 }, (_, i) => ({ type: 'put' as const, key: entry(i)[0], value: entry(i)[1] })))
  await s.close()
  await FS.unlink(join(path, 'CURRENT'))
  // LevelDB's own info log (LOG, rotated to LOG.old at each open attempt) aside, nothing may change.
  const dataFiles = async (): Promise<string[]> => (await FS.readdir(path)).filter(f => !/^(LOG|LOG\.old|LOCK)$/.test(f)).sort()
  const before = await dataFiles()
  await assert.rejects(LevelStorage.open(path, { createIfMissing: false }), (err: Error) => {
    assert.ok(err instanceof DamagedStoreError, String(err))
    assert.match(err.message, /holds files but LevelDB finds no database in it \(its CURRENT file is missing/)
    assert.ok(err.message.includes(path))
    return true
  })
  assert.deepEqual(await dataFiles(), before, 'the refusal wrote nothing')
  await LevelStorage.repair(path)
  const repaired = await LevelStorage.open(path, { createIfMissing: false })
  for (let i = 0; i < 20; i++) assert.deepEqual(Uint8Array.from((await repaired.get(entry(i)[0]))!), entry(i)[1])
  await repaired.close()
})

it('checkpoint moves committed data out of the log: truncating the newest log afterwards loses only later writes', async () => {
  const path = fresh()
  const s = await LevelStorage.open(path)
  await s.batch([{ type: 'put', key: entry(1)[0], value: entry(1)[1] }], { sync: true })
  await s.checkpoint()
  await s.batch([{ type: 'put', key: entry(2)[0], value: entry(2)[1] }])
  await s.close()
  const logs = (await FS.readdir(path)).filter(f => f.endsWith('.log')).sort()
  await FS.truncate(join(path, logs[logs.length - 1]), 0)
  const again = await LevelStorage.open(path, { createIfMissing: false })
  assert.deepEqual(Uint8Array.from((await again.get(entry(1)[0]))!), entry(1)[1], 'the checkpointed write survives')
  assert.equal(await again.get(entry(2)[0]), undefined, 'the write after the checkpoint was in the truncated log (the test truncated what it meant to)')
  await again.close()
})

// Every kind of damage a store folder can take (test/helpers/store-damage.ts), on a real LevelDB folder: 200 entries
// checkpointed into a table, 10 more in the log.
for (const { name, damage, refusal, read, kept } of damages) {
  it(`damage: ${name} is a DamagedStoreError naming the folder and the problem (${read === true ? 'at the first read, leaving the damaged table as it was' : 'at open, changing no file'}), and repair keeps ${kept} of 210 entries`, async () => {
    const { DamagedStoreError } = await import('../../core/storage.ts')
    const path = fresh()
    const s = await LevelStorage.open(path)
    for (let i = 0; i < 200; i++) await s.batch([{ type: 'put', key: Uint8Array.of(1, i), value: new Uint8Array(100).fill(i) }])
    await s.checkpoint()
    for (let i = 0; i < 10; i++) await s.batch([{ type: 'put', key: Uint8Array.of(2, i), value: Uint8Array.of(i) }])
    await s.close()
    await damage(path)
    const files = async (): Promise<Array<[string, string]>> => await Promise.all((await FS.readdir(path)).filter(f => !/^(LOG|LOG\.old|LOCK)$/.test(f)).sort()
      .map(async f => [f, (await FS.stat(join(path, f))).isDirectory() ? 'dir' : createHash('sha256').update(await FS.readFile(join(path, f))).digest('hex')] as [string, string]))
    const before = await files()
    const refused = (err: unknown): boolean => {
      assert.ok(err instanceof DamagedStoreError, String(err))
      assert.ok(err.message.startsWith(`store folder ${path} `), err.message)
      assert.match(err.message, refusal)
      return true
    }
    if (read === true) {
      const opened = await LevelStorage.open(path, { createIfMissing: false })
      await assert.rejects(async () => { for await (const _ of opened.iterator({})); }, refused)
      await assert.rejects(opened.get(Uint8Array.of(1, 7)), refused)
      await opened.close()
    } else {
      await assert.rejects(LevelStorage.open(path, { createIfMissing: false }), refused)
    }
    if (read === true) {
      // Opening replays the log into a new table (any LevelDB open does), but the damaged tables are left to the repair.
      const now = new Map(await files())
      for (const [f, hash] of before) if (f.endsWith('.ldb')) assert.equal(now.get(f), hash, `${f} is left as it was`)
    } else {
      assert.deepEqual(await files(), before, 'the refusal changed no file (LevelDB\'s info log aside)')
    }
    await LevelStorage.repair(path)
    const repaired = await LevelStorage.open(path, { createIfMissing: false })
    let n = 0
    for await (const [k, v] of repaired.iterator({})) {
      assert.deepEqual(Uint8Array.from(v), k[0] === 1 ? new Uint8Array(100).fill(k[1]) : Uint8Array.of(k[1]), 'a recovered entry is intact')
      n++
    }
    assert.equal(n, kept)
    await repaired.close()
  })
}
