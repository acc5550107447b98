// A node starts whatever contracts its registry has: keys bound to a contract it lacks (not loaded, or
// loaded in another version) are kept as they are, indexed from their stored summaries, and neither
// readable nor writable until the node starts with that contract again (review finding 2 of issue 9).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createRegistry } from '../../contracts/index.ts'
import type { ContractRegistry } from '../../core/registry.ts'
import { startHttpApi } from '../../node/http-api.ts'
import { maxRegister } from '../fixtures/max-register.ts'
import { nodeFixtures } from '../helpers/node-fixtures.ts'

const fx = await nodeFixtures('unknown-keys')
after(async () => { await fx.cleanup() })

const registryWith = (...extra: Array<typeof maxRegister>): ContractRegistry => {
  const r = createRegistry()
  for (const c of extra) r.register(c, { trusted: true })
  return r
}
const unknownContract = (name: string) => (err: Error & { code?: string }) => err.code === 'unknown_contract' && err.message.includes(`"${name}"`)

test('a node restarted without a key\'s contract, or with another version of it, starts, serves its other keys, and keeps the key intact', { timeout: 30_000 }, async () => {
  const dataDir = fx.folder()
  const first = await fx.start({ dataDir, registry: registryWith(maxRegister) })
  // Several writes: the later ones sit in the key's delta tail until a fold.
  for (const n of [3, 5, 8]) await first.update('k', 'max-register', 'set', [n])
  await first.update('other', 'g-counter', 'inc', [2])
  await first.stop()

  let other = 2
  for (const registry of [createRegistry(), registryWith({ ...maxRegister, version: '2' })]) {
    const node = await fx.start({ dataDir, registry })
    assert.deepEqual((await node.get('other'))?.value, other, 'other keys are served')
    await node.update('other', 'g-counter', 'inc', [1])
    other++
    await assert.rejects(node.get('k'), unknownContract('max-register'))
    await assert.rejects(node.update('k', 'max-register', 'set', [9]), (err: Error & { code?: string }) => err.code === 'unknown_contract')
    const status = await node.status()
    assert.deepEqual(status.unknownContractKeys, { byId: { 'max-register': 1 }, others: 0 }, 'status names the contract the key is held by')
    assert.equal(status.keys, 2, 'the key still counts in the digest index')
    const api = await startHttpApi(node, { host: '127.0.0.1', port: 0, token: 'test-token-0123456789' })
    try {
      const res = await fetch(api.url + '/v1/keys/k', { headers: { authorization: 'Bearer test-token-0123456789' } })
      const body = await res.json() as { error: { code: string, message: string } }
      assert.equal(res.status, 404)
      assert.equal(body.error.code, 'unknown_contract')
      assert.match(body.error.message, /"max-register"/)
    } finally {
      await api.close()
    }
    await node.stop()
  }

  const back = await fx.start({ dataDir, registry: registryWith(maxRegister) })
  assert.deepEqual(await back.get('k'), { key: 'k', contract: { id: 'max-register' }, value: 8 }, 'the key is intact')
  assert.equal((await back.get('other'))?.value, 4)
  await back.update('k', 'max-register', 'set', [9])
  assert.equal((await back.get('k'))?.value, 9)
  assert.deepEqual((await back.status()).unknownContractKeys, { byId: {}, others: 0 })
})
