// Owned keys through the sync engine: honest writes converge over pushes and anti-entropy with faults; forged
// pushes from a hostile peer are refused and counted, and the gossip check refuses them before any forwarding.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRegistry } from '../../../contracts/index.ts'
import { ownedBinding } from '../../../core/envelope/index.ts'
import type { JsonValue } from '../../../core/json.ts'
import { encodeMessage } from '../../../core/sync/messages.ts'
import { PushValidator } from '../../../core/sync/push-check.ts'
import type { UpdateOptions } from '../../../core/replica-store.ts'
import { Net } from '../sync/harness.ts'
import { keys } from './owned-fixtures.ts'

const { alice, bob, carol, mallory } = keys
const writers = [alice.publicKey, bob.publicKey]

async function write (net: Net, id: string, key: string, op: string, args: JsonValue[], options: UpdateOptions): Promise<unknown> {
  const p = net.peer(id)
  const r = await p.store.update(key, 'or-set', op, args, options)
  if (r.delta !== undefined) net.post(id, p.engine.localUpdate(key, r.contract, r.delta, net.now))
  return r.delta
}

function push (key: string, contract: unknown, delta: unknown): Uint8Array {
  return encodeMessage({ type: 'push', items: [{ key, contract, delta }] } as never)
}

test('owned keys converge over pushes and anti-entropy with drops, duplicates and reordering; forged pushes change nothing', async () => {
  const net = await Net.create(3, { seed: 5 })
  await write(net, 'p0', 'room', 'add', ['hello'], { signer: alice, writers })
  await net.advance(20) // the push window
  await net.deliver()
  await write(net, 'p1', 'room', 'add', ['from bob'], { signer: bob })
  await write(net, 'p0', 'room', '@writers', [{ grant: [carol.publicKey] }], { signer: alice })
  await net.advance(20)
  await net.deliver({ reorder: true, duplicate: 0.2 })
  await write(net, 'p2', 'room', 'add', ['from carol'], { signer: carol })
  await write(net, 'p1', 'room', 'add', ['bob again'], { signer: bob })
  await net.advance(20)
  await net.deliver({ drop: e => e.type === 'push' && e.to === 'p2', reorder: true })
  // A hostile peer: a push forged under bob's block, a replay into another key, and mallory's own write.
  const honest = (await net.peer('p0').store.deltaFor('room'))!
  const forged = structuredClone(honest.delta) as { w: Array<[unknown, unknown, unknown, Array<[number, number, { e: unknown[][] }, unknown]>, Array<[number, { e: unknown[][] }, unknown]>]> }
  const blk = forged.w.find(b => b[4].length > 0 || b[3].length > 0)!
  if (blk[4].length > 0) blk[4][0][1].e[0][0] = 'forged'; else blk[3][0][2].e[0][0] = 'forged'
  const before = net.peer('p1').engine.stats().rejectedDeltas
  net.post('evil', [{ type: 'send', to: 'p1', bytes: push('room', honest.contract, forged) } as never])
  net.post('evil', [{ type: 'send', to: 'p1', bytes: push('room-copy', honest.contract, honest.delta) } as never])
  const copyBinding = ownedBinding('room-copy', { id: 'or-set' }, writers)
  net.post('evil', [{ type: 'send', to: 'p1', bytes: push('room-copy', copyBinding, honest.delta) } as never])
  await net.deliver()
  assert.equal(net.peer('p1').engine.stats().rejectedDeltas, before + 3, 'the three forged items are refused and counted')
  assert.equal(await net.peer('p1').store.get('room-copy'), undefined)
  await assert.rejects(net.peer('p2').store.update('room', 'or-set', 'add', ['mallory'], { signer: mallory }), /not a writer/)
  await net.converge(10, { duplicate: 0.1 })
  for (const p of net.peers) {
    assert.deepEqual((await p.store.get('room'))?.value, ['hello', 'from bob', 'bob again', 'from carol'], `${p.id} holds every honest write and nothing forged`)
  }
})

test('the gossip check refuses a forged owned push and a replay into another key before forwarding it', async () => {
  const net = await Net.create(1)
  await write(net, 'p0', 'room', 'add', ['hello'], { signer: alice, writers })
  const honest = (await net.peer('p0').store.deltaFor('room'))!
  const v = new PushValidator(createRegistry())
  assert.deepEqual(v.check([{ key: 'room', contract: honest.contract, delta: honest.delta }]), {})
  assert.match(v.check([{ key: 'other', contract: honest.contract, delta: honest.delta }]).invalid ?? '', /binding of key "room" pushed for another key/)
  const copy = ownedBinding('other', { id: 'or-set' }, writers)
  assert.match(v.check([{ key: 'other', contract: copy, delta: honest.delta }]).invalid ?? '', /not signed by its writer/)
})

test('a key whose state needs more verifies than one message allows still reaches every peer, a few sessions later', async () => {
  const { clearVerifyCache } = await import('../../../core/envelope/signing.ts')
  const { MAX_MESSAGE_VERIFIES } = await import('../../../core/envelope/validate.ts')
  const { laneOf, parsePublicKey, writerReplica } = await import('../../../core/envelope/index.ts')
  const { entryBytes, paramsHash } = await import('../../../core/envelope/signed-bytes.ts')
  const net = await Net.create(3, { seed: 7 })
  // Bob's block of 2.5 budgets' worth of entries (valid, if no honest writer's shape) on p0 alone.
  const binding = ownedBinding('big', { id: 'g-counter' }, writers)
  const ph = paramsHash(binding.params!)
  const pub = parsePublicKey(bob.publicKey)
  const lane = laneOf('bob-store')
  const n = Math.ceil(MAX_MESSAGE_VERIFIES * 2.5)
  const entries = []
  for (let i = 1; i <= n; i++) {
    const body = [[writerReplica(pub, lane, 0), i]]
    entries.push([i, body, bob.sign(entryBytes(ph, pub.slice(0, 8), 0, lane, i, body as never))])
  }
  const delta = { a: [], w: [[pub.slice(0, 8), 0, lane, [], entries]] }
  let tries = 0
  let outcome: unknown
  while ((await net.peer('p0').store.get('big')) === undefined && tries++ < 10) [outcome] = await net.peer('p0').store.mergeRemoteMany([{ key: 'big', contract: binding, delta, origin: 'somewhere' }])
  assert.ok(tries > 1, `refused for now at first (${String((outcome as { error?: Error })?.error?.message)})`)
  assert.equal((await net.peer('p0').store.get('big'))?.value, n)
  clearVerifyCache() // the peers share this process's cache: let p1 and p2 verify it all again
  const rounds = await net.converge(20)
  assert.ok(rounds > 1, `it took ${rounds} rounds: more than one message's worth of verifies`)
  for (const p of net.peers) assert.equal((await p.store.get('big'))?.value, n, `${p.id} holds the whole key`)
})
