// Changes to owned keys that no current writer signed are refused and counted as `unauthorized_write`
// wherever refusals are listed: the gossip push check's verdict and the engine's journal and counters; and
// charged to their sender, over a sync stream too.
import assert from 'node:assert/strict'
import { it } from 'node:test'
import type { Plain } from '../../../core/codec.ts'
import { type SigningKey, generateSigningKey, ownedBinding } from '../../../core/envelope/index.ts'
import type { BoundRef } from '../../../core/subscription.ts'
import { ReplicaStore } from '../../../core/replica-store.ts'
import { MemoryStorage } from '../../../core/storage.ts'
import { SyncEngine } from '../../../core/sync/engine.ts'
import { encodeMessage } from '../../../core/sync/messages.ts'
import type { Misbehaviour } from '../../../core/sync/peer-budget.ts'
import { PushValidator } from '../../../core/sync/push-check.ts'
import { createRegistry } from '../../../contracts/index.ts'
import { Net, START } from './harness.ts'

const alice = generateSigningKey().key
const carol = generateSigningKey().key
const registry = createRegistry()

/** A g-counter inc of key `key` signed by `signer` under `binding` (an honest change of that binding). */
function signedInc (binding: BoundRef, signer: SigningKey): Plain {
  const c = registry.resolveBound(binding)
  return c.ops.inc(c.empty(), [5], { replica: 'a'.repeat(24), now: Date.now(), signer }) as Plain
}

// Alice's key; Carol signs a change for a key of the same name that she owns, and sends it as a change of Alice's.
const ofAlice = ownedBinding('k', { id: 'g-counter' }, [alice.publicKey])
const forged = signedInc(ownedBinding('k', { id: 'g-counter' }, [carol.publicKey]), carol)

it('the push check refuses a change no writer of the key signed, with reason unauthorized_write; other invalid items keep none', () => {
  const v = new PushValidator(registry)
  assert.deepEqual(v.check([{ key: 'k', contract: ofAlice, delta: signedInc(ofAlice, alice) as never }]), {}, 'Alice\'s own change passes')
  const verdict = v.check([{ key: 'k', contract: ofAlice, delta: forged as never }])
  assert.equal(verdict.reason, 'unauthorized_write', JSON.stringify(verdict))
  assert.equal(verdict.key, 'k')
  assert.match(verdict.invalid ?? '', /does not grant|not signed/)
  const plain = v.check([{ key: 'g', contract: { id: 'g-counter' }, delta: [['r1', 0]] as never }])
  assert.ok(plain.invalid !== undefined && plain.reason === undefined, 'a plain invalid state is not an authorship refusal')
})

it('the engine journals a forged change as refused, reason unauthorized_write, counts it, and stores nothing of it', async () => {
  const net = await Net.create(1)
  const [p0] = net.peers
  const before = p0.engine.stats().rejectedDeltas
  await p0.engine.receive('mallory', encodeMessage({ type: 'push', items: [{ key: 'k', contract: ofAlice, delta: forged as never }] }), net.now)
  const refused = p0.engine.journal!.query({ key: 'k' }).filter(r => r.kind === 'refused')
  assert.deepEqual(refused.map(r => r.kind === 'refused' ? [r.peer, r.path, r.reason] : []), [['mallory', 'push', 'unauthorized_write']])
  assert.equal(p0.engine.stats().rejectedDeltas, before + 1)
  assert.equal(await p0.store.get('k'), undefined, 'nothing stored')
})

it('a forged change in a session `deltas` is charged to its sender as a bad message, as an invalid state is', async () => {
  const store = await ReplicaStore.open({ storage: new MemoryStorage(), registry, replica: 'victim', clock: () => START })
  const reports: Array<[string, Misbehaviour]> = []
  const engine = await SyncEngine.create(store, { self: 'victim', now: START, random: () => 0.5, onMisbehaviour: (p, w) => { reports.push([p, w]) } })
  await engine.receive('mallory', encodeMessage({ type: 'deltas', sid: { n: 7, fromInitiator: true }, seq: 0, check: false, items: [{ key: 'k', contract: ofAlice, delta: forged as never }] }), START)
  assert.deepEqual(engine.journal!.query({ key: 'k' }).filter(r => r.kind === 'refused').map(r => r.kind === 'refused' ? r.reason : ''), ['unauthorized_write'])
  assert.deepEqual(reports, [['mallory', 'bad_message']], 'the sender was not charged for its forged change')
  assert.equal(await store.get('k'), undefined, 'nothing stored')
})
