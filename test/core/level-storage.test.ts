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
