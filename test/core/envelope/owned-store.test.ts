// Owned keys in the replica store (real LevelDB): how writes name them, what is refused, and stores converging.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRegistry } from '../../../contracts/index.ts'
import { encode } from '../../../core/codec.ts'
import { OWNED, accessOf, ownedBinding, ownedInfo, withOwned } from '../../../core/envelope/index.ts'
import { ContractError } from '../../../core/errors.ts'
import { LevelStorage } from '../../../core/level-storage.ts'
import { ReplicaStore } from '../../../core/replica-store.ts'
import { MemoryStorage } from '../../../core/storage.ts'
import { tempFolders, testRegistry } from '../../helpers/store-fixtures.ts'
import { keys } from './owned-fixtures.ts'

const { alice, bob, carol, mallory } = keys

async function openStore (path: string, replica: string): Promise<ReplicaStore> {
  return await ReplicaStore.open({ storage: await LevelStorage.open(path), registry: createRegistry(), replica })
}

async function refusal (p: Promise<unknown>, code: string): Promise<ContractError> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  assert.ok(err instanceof ContractError, `expected a ContractError ${code}, got ${String(err)}`)
  assert.equal(err.code, code, err.message)
  return err
}

test('a write naming writers creates an owned key; later writes name the inner contract; mismatches are refused', async () => {
  const dirs = await tempFolders('envelope')
  const s = await openStore(dirs.next(), 'aaaaaaaaaaaaaaaaaaaaaaaa')
  try {
    const first = await s.update('room', 'or-set', 'add', ['hi'], { signer: alice, writers: [alice.publicKey, bob.publicKey] })
    assert.deepEqual(first.contract, ownedBinding('room', { id: 'or-set' }, [alice.publicKey, bob.publicKey]))
    assert.deepEqual(ownedInfo(first.contract), { inner: { id: 'or-set' }, writers0: [alice.publicKey, bob.publicKey] })
    assert.deepEqual(first.value, ['hi'])
    await s.update('room', 'or-set', 'add', ['yo'], { signer: bob })
    await s.update('room', first.contract, 'add', ['by binding'], { signer: bob })
    await s.update('room', 'or-set', 'add', ['same writers'], { signer: bob, writers: [alice.publicKey, bob.publicKey] })
    const before = s.stats().contractMismatches
    await refusal(s.update('room', 'or-set', 'add', ['x'], { signer: bob, writers: [bob.publicKey] }), 'contract_mismatch')
    await refusal(s.update('room', 'g-set', 'add', ['x'], { signer: bob }), 'contract_mismatch')
    await refusal(s.update('plain', 'or-set', 'add', ['x']).then(async () => await s.update('plain', 'or-set', 'add', ['y'], { writers: [alice.publicKey] })), 'contract_mismatch')
    assert.equal(s.stats().contractMismatches, before + 3, 'each mismatch is counted')
    await refusal(s.update('room', 'or-set', 'add', ['x']), 'unauthorized_write')
    await refusal(s.update('room', 'or-set', 'add', ['x'], { signer: carol }), 'unauthorized_write')
    await refusal(s.update('room', 'or-set', '@writers', [{ grant: [carol.publicKey] }], { signer: bob }), 'unauthorized_write')
    await refusal(s.update('new', 'or-set', 'add', ['x'], { signer: alice, writers: ['ed25519:nope'] }), 'bad_args')
    await refusal(s.update('new', 'or-set', 'add', ['x'], { signer: alice, writers: [] }), 'bad_args')
    await refusal(s.update('new', 'or-set', 'add', ['x'], { signer: alice, writers: [alice.publicKey, alice.publicKey] }), 'bad_args')
    assert.equal(await s.get('new'), undefined, 'refused writes create nothing')
    await s.update('room', 'or-set', '@writers', [{ grant: [carol.publicKey] }], { signer: alice })
    await s.update('room', 'or-set', 'add', ['carol'], { signer: carol })
    const view = await s.get('room')
    assert.deepEqual(view?.value, ['hi', 'yo', 'carol', 'by binding', 'same writers'])
    assert.equal(view?.contract.id, OWNED)
    const e = await s.summary('room')
    assert.ok(e !== undefined)
  } finally {
    await s.close()
    await dirs.remove()
  }
})

test('a remote delta for another key, or forged, is refused and counted; the state is unchanged; it survives a restart', async () => {
  const dirs = await tempFolders('envelope')
  const pathA = dirs.next()
  let a = await openStore(pathA, 'aaaaaaaaaaaaaaaaaaaaaaaa')
  const b = await openStore(dirs.next(), 'bbbbbbbbbbbbbbbbbbbbbbbb')
  try {
    const w = await a.update('k', 'g-counter', 'inc', [5], { signer: alice, writers: [alice.publicKey, bob.publicKey] })
    const d = await a.deltaFor('k')
    assert.ok(d !== undefined)
    // Replayed into another key under its own binding: the binding names key "k".
    const before = b.stats().contractMismatches
    await refusal(b.mergeRemote('k2', d.contract, d.delta, 'peer'), 'contract_mismatch')
    assert.equal(b.stats().contractMismatches, before + 1)
    // Under a binding naming k2 (same writers): the signatures name k.
    const k2 = ownedBinding('k2', { id: 'g-counter' }, [alice.publicKey, bob.publicKey])
    await refusal(b.mergeRemote('k2', k2, d.delta, 'peer'), 'unauthorized_write')
    assert.equal(await b.get('k2'), undefined)
    // Forged content under k's binding.
    const forged = structuredClone(d.delta) as { w: Array<[unknown, unknown, unknown, unknown[], Array<[number, unknown, unknown]>]> }
    const block = forged.w[0]
    const items = block[3].length > 0 ? block[3] : block[4]
    ;(items[0] as [number, Array<[string, number]>, unknown])[1][0][1] = 1_000_000
    await refusal(b.mergeRemote('k', w.contract, forged, 'peer'), 'unauthorized_write')
    assert.equal(await b.get('k'), undefined)
    assert.deepEqual(await b.mergeRemote('k', w.contract, d.delta, 'peer'), { changed: true })
    assert.equal((await b.get('k'))?.value, 5)
    await a.close()
    a = await openStore(pathA, 'aaaaaaaaaaaaaaaaaaaaaaaa')
    const after = await a.get('k')
    assert.equal(after?.value, 5)
    assert.deepEqual(accessOf(createRegistry().resolve(after!.contract), (await a.deltaFor('k'))!.delta), { owner: alice.publicKey, writers: [alice.publicKey, bob.publicKey] })
    await a.update('k', 'g-counter', 'inc', [1], { signer: bob })
    assert.equal((await a.get('k'))?.value, 6)
  } finally {
    await a.close()
    await b.close()
    await dirs.remove()
  }
})

/** A small seeded generator (mulberry32), so a failure replays. */
function rng (seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

test('four stores exchanging owned-key deltas in shuffled orders (with a revoke, a grant and a forger) converge', async () => {
  const dirs = await tempFolders('envelope')
  const names = ['aaaaaaaaaaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbbbbbbbbbb', 'cccccccccccccccccccccccc', 'dddddddddddddddddddddddd']
  const stores = await Promise.all(names.map(async n => await openStore(dirs.next(), n)))
  const signers = [alice, bob, carol, mallory] // store i writes with signers[i]
  const random = rng(11)
  try {
    const writers = [alice.publicKey, bob.publicKey]
    const created = await stores[0].update('chat', 'log', 'append', ['start'], { signer: alice, writers })
    const pending: Array<{ to: number, delta: unknown }> = []
    const broadcast = (from: number, delta: unknown): void => { for (let to = 0; to < stores.length; to++) if (to !== from) pending.push({ to, delta }) }
    broadcast(0, created.delta)
    let refusedForged = 0
    for (let step = 0; step < 60; step++) {
      const i = Math.floor(random() * stores.length)
      const r = random()
      try {
        if (step === 20) {
          const g = await stores[0].update('chat', 'log', '@writers', [{ grant: [carol.publicKey] }], { signer: alice })
          broadcast(0, g.delta)
        } else if (step === 40) {
          const v = await stores[0].update('chat', 'log', '@writers', [{ revoke: [bob.publicKey] }], { signer: alice })
          broadcast(0, v.delta)
        } else if (r < 0.5) {
          const u = await stores[i].update('chat', 'log', 'append', [`${i}:${step}`], { signer: signers[i] })
          if (u.delta !== undefined) broadcast(i, u.delta)
        } else if (pending.length > 0) {
          // Deliver a random pending delta: out of order, some never before a full sync.
          const [p] = pending.splice(Math.floor(random() * pending.length), 1)
          if (random() < 0.8) await stores[p.to].mergeRemote('chat', created.contract, p.delta, names[(p.to + 1) % 4])
        }
      } catch (err) {
        if (!(err instanceof ContractError && err.code === 'unauthorized_write')) throw err
        refusedForged++
      }
    }
    assert.ok(refusedForged > 0, 'the non-writers tried and were refused')
    // Anti-entropy: every pair syncs by summary and delta until nothing moves.
    for (let round = 0; round < 3; round++) {
      for (let x = 0; x < stores.length; x++) {
        for (let y = 0; y < stores.length; y++) {
          if (x === y) continue
          const theirs = await stores[y].summary('chat')
          const d = await stores[x].deltaFor('chat', theirs?.summary)
          if (d !== undefined) await stores[y].mergeRemote('chat', d.contract, d.delta, names[x])
        }
      }
    }
    const views = await Promise.all(stores.map(async s => await s.get('chat')))
    const states = await Promise.all(stores.map(async s => (await s.deltaFor('chat'))?.delta))
    for (let i = 1; i < stores.length; i++) {
      assert.deepEqual(views[i]?.value, views[0]?.value)
      assert.deepEqual(encode(states[i]), encode(states[0]), `store ${i} holds the same state as store 0`)
    }
    const texts = (views[0]?.value as Array<{ value: string }>).map(e => e.value)
    assert.ok(!texts.some(t => t.startsWith('3:')), 'mallory (store 3) never got in')
    assert.ok(texts.some(t => t.startsWith('2:')), 'carol, granted at step 20, did')
    assert.ok(texts.some(t => t.startsWith('1:')), 'bob\'s writes before the revoke stay (frozen)')
  } finally {
    for (const s of stores) await s.close()
    await dirs.remove()
  }
})

test('withOwned adds the owned contract to any registry, once; it wraps that registry\'s contracts', async () => {
  const registry = testRegistry()
  assert.equal(registry.has(OWNED), false)
  assert.equal(withOwned(withOwned(registry)).has(OWNED), true)
  const s = await ReplicaStore.open({ storage: new MemoryStorage(), registry, replica: 'aaaaaaaaaaaaaaaaaaaaaaaa' })
  try {
    const r = await s.update('k', 'max-register', 'set', [7], { signer: alice, writers: [alice.publicKey] })
    assert.equal(r.value, 7)
    await refusal(s.update('k', 'max-register', 'set', [9], { signer: bob }), 'unauthorized_write')
    await refusal(s.update('k2', 'g-counter', 'inc', [1], { signer: alice, writers: [alice.publicKey] }), 'unknown_contract')
  } finally {
    await s.close()
  }
})
