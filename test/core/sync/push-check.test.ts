// The check a gossiped push passes before it is forwarded (core/sync/push-check.ts), and the sender's side:
// pushes stay within MAX_GOSSIP_PUSH_BYTES, and a change too large for one reaches peers by sessions.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ContractRegistry } from '../../../core/registry.ts'
import { ReplicaStore } from '../../../core/replica-store.ts'
import { MemoryStorage } from '../../../core/storage.ts'
import { type DeltaItem, MAX_GOSSIP_PUSH_BYTES, decodeMessage } from '../../../core/sync/messages.ts'
import { PushValidator } from '../../../core/sync/push-check.ts'
import { createRegistry } from '../../../contracts/index.ts'
import { maxRegister } from '../../fixtures/max-register.ts'
import { cappedMax } from '../../fixtures/capped-max.ts'
import { Net } from './harness.ts'

const item = (key: string, contract: DeltaItem['contract'], delta: unknown): DeltaItem => ({ key, contract, delta: delta as never })

test('a push passes when every item is valid; the first invalid one is named; what this peer cannot judge is told apart', () => {
  const registry = createRegistry()
  registry.register({ ...maxRegister, version: '2' }, { trusted: true })
  registry.register(cappedMax, { trusted: true })
  const v = new PushValidator(registry)
  assert.deepEqual(v.check([item('a', { id: 'g-counter' }, [['r1', 3]]), item('b', { id: 'max-register', version: '2' }, 4)]), {})
  const refused = v.check([item('a', { id: 'g-counter' }, [['r1', 3]]), item('bad', { id: 'g-counter' }, [['r1', 0]])])
  assert.match(refused.invalid ?? '', /positive safe integer/)
  assert.equal(refused.key, 'bad', 'the invalid item is named by its key')
  assert.match(v.check([item('m', { id: 'max-register', version: '2' }, 'x')]).invalid ?? '', /finite number/)
  assert.match(v.check([item('c', { id: 'capped-max', params: { cap: 5 } }, 'x')]).invalid ?? '', /finite number/, 'configured contracts are checked too')
  assert.deepEqual(v.check([item('c', { id: 'capped-max', params: { cap: 5 } }, 9)]), {})
  // What this peer cannot judge is not invalid: those who have the contract judge it.
  const unjudged = (items: DeltaItem[], why: string): void => {
    const r = v.check(items)
    assert.equal(r.invalid, undefined, why)
    assert.ok(r.unjudged !== undefined, why)
  }
  unjudged([item('u', { id: 'no-such' }, 'anything')], 'unknown contract')
  unjudged([item('o', { id: 'max-register', version: '1' }, 'x')], 'another version')
  unjudged([item('o', { id: 'max-register' }, 'x')], 'unversioned, where ours has a version')
  unjudged([item('o', { id: 'g-counter', params: { no: 1 } }, 'x')], 'params the contract refuses')
  // An invalid item wins over one this peer cannot judge, in either order: its verdict holds on every peer.
  assert.ok(v.check([item('u', { id: 'no-such' }, 1), item('bad', { id: 'g-counter' }, [['r1', 0]])]).invalid !== undefined)
})

test('an or-map push with a field of a contract this peer lacks cannot be judged here, and is judged where the contract is', async () => {
  const withFoo = createRegistry()
  withFoo.register(maxRegister, { trusted: true })
  const store = await ReplicaStore.open({ storage: new MemoryStorage(), registry: withFoo, replica: 'a' })
  const r = await store.update('m', 'or-map', 'apply', ['f', 'max-register', 'set', [5]])
  const honest = item('m', { id: 'or-map' }, r.delta)
  assert.deepEqual(new PushValidator(withFoo).check([honest]), {})
  const without = new PushValidator(createRegistry()).check([honest])
  assert.equal(without.invalid, undefined, 'a peer lacking the nested contract must not call the push invalid')
  assert.match(without.unjudged ?? '', /max-register/)
  // A nested or-map holding it: still "cannot judge". A field of a contract we have, invalid: invalid everywhere.
  const inner = r.delta as { e: unknown[][], c: unknown }
  const nested = { e: [['outer', 'or-map', ['a', 9], inner, [['a', 9, 9]]]], c: [['a', [9, 9]]] }
  const deep = new PushValidator(createRegistry()).check([item('n', { id: 'or-map' }, nested)])
  assert.equal(deep.invalid, undefined)
  assert.match(deep.unjudged ?? '', /max-register/)
  const forged = { e: [['f', 'g-counter', ['a', 1], [['a.1', 0]], [['a', 1, 1]]]], c: [['a', [1, 1]]] }
  assert.ok(new PushValidator(createRegistry()).check([item('m', { id: 'or-map' }, forged)]).invalid !== undefined)
  await store.close()
})

test('validating the costliest push a peer forwards stays well under 50 ms', () => {
  const v = new PushValidator(new ContractRegistry())
  const registry = createRegistry()
  const w = new PushValidator(registry)
  assert.equal(v.check([item('k', { id: 'g-counter' }, 'x')]).invalid, undefined)
  // A g-counter of as many entries as fit a gossiped push, invalid at the very end: every entry is checked.
  const n = Math.floor(MAX_GOSSIP_PUSH_BYTES / 9)
  const state = Array.from({ length: n }, (_, i) => [`r${String(i).padStart(5, '0')}`, i === n - 1 ? 0 : 1])
  // The fastest of ten runs: what the work costs, not what a busy machine adds to it.
  let ms = Infinity
  for (let i = 0; i < 10; i++) {
    const start = performance.now()
    assert.ok(w.check([item('k', { id: 'g-counter' }, state)]).invalid !== undefined)
    ms = Math.min(ms, performance.now() - start)
  }
  assert.ok(ms < 50, `${ms.toFixed(1)} ms to validate ${n} entries`)
})

test('a local change too large for a gossiped push is not pushed; sessions bring it to the peer, and smaller ones are still pushed', async () => {
  const net = await Net.create(2, { seed: 5 })
  const big = 'x'.repeat(MAX_GOSSIP_PUSH_BYTES + 1000)
  await net.write('p0', 'big', 'or-set', 'add', [big])
  await net.write('p0', 'small', 'or-set', 'add', ['y'])
  await net.advance(10)
  const pushes = net.queue.filter(e => e.from === 'p0' && e.type === 'push')
  assert.equal(pushes.length, 1)
  assert.deepEqual(decodeMessage(pushes[0].bytes).type === 'push' && (decodeMessage(pushes[0].bytes) as { items: DeltaItem[] }).items.map(i => i.key), ['small'])
  for (const e of net.queue) assert.ok(e.type !== 'push' || e.bytes.length <= MAX_GOSSIP_PUSH_BYTES)
  assert.equal(net.peers[0].engine.stats().sessionOnlyItems, 1)
  assert.equal(net.peers[0].engine.stats().oversizeItems, 0)
  await net.deliver()
  assert.ok(await net.peers[1].store.get('small'))
  assert.equal(await net.peers[1].store.get('big'), undefined, 'not pushed')
  await net.converge(4)
  assert.deepEqual((await net.peers[1].store.get('big'))?.value, [big], 'a session brought it')
  assert.ok(net.delivered.some(e => e.type === 'deltas' && e.bytes.length > MAX_GOSSIP_PUSH_BYTES), 'in one deltas message')
})
