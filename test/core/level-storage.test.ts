import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, it } from 'node:test'
import { LevelStorage } from '../../core/level-storage.ts'
import { storageAcceptance } from '../helpers/storage-acceptance.ts'

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
