import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PEER_KEY_FILE, loadOrCreatePeerKey } from '../../node/identity.ts'

const root = await mkdtemp(join(tmpdir(), 'monoidb-identity-'))
after(async () => { await rm(root, { recursive: true, force: true }) })
let n = 0
const folder = (): string => join(root, `d${n++}`)
const idOf = (key: Awaited<ReturnType<typeof loadOrCreatePeerKey>>): string => peerIdFromPrivateKey(key).toString()

test('the first start creates an Ed25519 key readable by its owner only; later starts reuse it', async () => {
  const dir = folder()
  const first = await loadOrCreatePeerKey(dir)
  assert.equal(first.type, 'Ed25519')
  const info = await stat(join(dir, PEER_KEY_FILE))
  assert.equal(info.mode & 0o777, 0o600)
  assert.equal((await stat(dir)).mode & 0o077, 0, 'the data folder is private too')
  const again = await loadOrCreatePeerKey(dir)
  assert.equal(idOf(again), idOf(first))
  assert.deepEqual(await readdir(dir), [PEER_KEY_FILE], 'no temp file is left behind')
})

test('peers starting at once on one folder agree on one key', async () => {
  const dir = folder()
  const keys = await Promise.all(Array.from({ length: 8 }, async () => await loadOrCreatePeerKey(dir)))
  assert.equal(new Set(keys.map(idOf)).size, 1)
  assert.deepEqual(await readdir(dir), [PEER_KEY_FILE])
})

test('a key file others may read or write is refused with an error naming the file', async () => {
  for (const mode of [0o644, 0o660, 0o602]) {
    const dir = folder()
    await loadOrCreatePeerKey(dir)
    const file = join(dir, PEER_KEY_FILE)
    await chmod(file, mode)
    await assert.rejects(loadOrCreatePeerKey(dir), (err: Error) => {
      assert.ok(err.message.includes(file), err.message)
      assert.match(err.message, new RegExp(`mode ${mode.toString(8)}`))
      return true
    })
  }
})

test('a key file with bad contents is refused with an error naming the file', async () => {
  for (const contents of [new Uint8Array(0), new TextEncoder().encode('not a key at all'), new Uint8Array(68).fill(7)]) {
    const dir = folder()
    await loadOrCreatePeerKey(dir)
    const file = join(dir, PEER_KEY_FILE)
    await writeFile(file, contents, { mode: 0o600 })
    await assert.rejects(loadOrCreatePeerKey(dir), (err: Error) => {
      assert.ok(err.message.includes(file), err.message)
      assert.match(err.message, /not a libp2p private key/)
      return true
    })
  }
})
