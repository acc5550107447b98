// Two codes under one contract id never diverge silently: a peer whose contract of that id has another
// version (or none) treats the key's deltas as from a contract it lacks: not merged, counted by name with
// the version, and its own keys of that id untouched. Peers of the same version replicate as ever.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { AnyContract } from '../../../core/contract.ts'
import { ContractRegistry } from '../../../core/registry.ts'
import { ReplicaStore } from '../../../core/replica-store.ts'
import { MemoryStorage } from '../../../core/storage.ts'
import { SyncEngine } from '../../../core/sync/engine.ts'
import { decodeMessage } from '../../../core/sync/messages.ts'
import { maxRegister } from '../../fixtures/max-register.ts'

async function peer (name: string, contract: AnyContract) {
  const registry = new ContractRegistry()
  registry.register(contract, { trusted: true })
  const store = await ReplicaStore.open({ storage: new MemoryStorage(), registry })
  const engine = await SyncEngine.create(store, { self: name, now: 0 })
  /** Writes `key` and returns the bytes of the push that carries it. */
  const write = async (key: string, n: number): Promise<Uint8Array> => {
    const r = await store.update(key, 'max-register', 'set', [n])
    engine.localUpdate(key, r.contract, r.delta!, 0)
    const pushes = (await engine.tick(1_000)).filter(a => a.type === 'publish' && decodeMessage(a.bytes).type === 'push')
    assert.equal(pushes.length, 1)
    return pushes[0].bytes
  }
  return { name, store, engine, write }
}

test('a push of another version of a contract is not merged, and is counted with its version', async () => {
  const v1 = await peer('v1', { ...maxRegister, version: '1' })
  const v1b = await peer('v1b', { ...maxRegister, version: '1' })
  const v2 = await peer('v2', { ...maxRegister, version: '2' })
  const plain = await peer('plain', maxRegister)
  await v2.store.update('k', 'max-register', 'set', [1])
  await plain.store.update('k', 'max-register', 'set', [1])

  const push = await v1.write('k', 5)
  assert.deepEqual(decodeMessage(push), { type: 'push', items: [{ key: 'k', contract: { id: 'max-register', version: '1' }, delta: 5 }] })
  for (const p of [v1b, v2, plain]) await p.engine.receive('v1', push, 1_000)

  assert.deepEqual(await v1b.store.get('k'), { key: 'k', contract: { id: 'max-register', version: '1' }, value: 5 }, 'the same version merges')
  for (const p of [v2, plain]) {
    assert.equal((await p.store.get('k'))?.value, 1, `${p.name} kept its own state`)
    const s = p.engine.stats()
    assert.equal(s.rejectedDeltas, 1, p.name)
    assert.deepEqual(s.unknownContracts, { byId: { 'max-register::1': 1 }, others: 0 }, p.name)
    assert.equal(p.engine.unknownContractOf('k'), 'max-register::1')
  }

  // An unversioned push reaches a versioned peer as a contract it lacks too, named without a version.
  await v1.engine.receive('plain', await plain.write('j', 3), 2_000)
  assert.equal(await v1.store.get('j'), undefined)
  assert.deepEqual(v1.engine.stats().unknownContracts, { byId: { 'max-register': 1 }, others: 0 })
  for (const p of [v1, v1b, v2, plain]) await p.store.close()
})
