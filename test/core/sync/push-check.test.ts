// The check a gossiped push passes before it is forwarded (core/sync/push-check.ts), and the sender's side:
// pushes stay within MAX_GOSSIP_PUSH_BYTES, and a change too large for one reaches peers by sessions.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ContractRegistry } from '../../../core/registry.ts'
import { type DeltaItem, MAX_GOSSIP_PUSH_BYTES, decodeMessage } from '../../../core/sync/messages.ts'
import { PushValidator } from '../../../core/sync/push-check.ts'
import { createRegistry } from '../../../contracts/index.ts'
import { maxRegister } from '../../fixtures/max-register.ts'
import { cappedMax } from '../../fixtures/capped-max.ts'
import { Net } from './harness.ts'

const item = (key: string, contract: DeltaItem['contract'], delta: unknown): DeltaItem => ({ key, contract, delta: delta as never })

test('a push passes when every item its contracts know is valid; the first invalid one is named', () => {
  const registry = createRegistry()
  registry.register({ ...maxRegister, version: '2' }, { trusted: true })
  registry.register(cappedMax, { trusted: true })
  const v = new PushValidator(registry)
  assert.equal(v.problem([item('a', { id: 'g-counter' }, [['r1', 3]]), item('b', { id: 'max-register', version: '2' }, 4)]), undefined)
  assert.match(v.problem([item('a', { id: 'g-counter' }, [['r1', 3]]), item('bad', { id: 'g-counter' }, [['r1', 0]])]) ?? '', /positive safe integer/)
  assert.match(v.problem([item('m', { id: 'max-register', version: '2' }, 'x')]) ?? '', /finite number/)
  assert.match(v.problem([item('c', { id: 'capped-max', params: { cap: 5 } }, 'x')]) ?? '', /finite number/, 'configured contracts are checked too')
  assert.equal(v.problem([item('c', { id: 'capped-max', params: { cap: 5 } }, 9)]), undefined)
  // What this peer cannot judge it forwards: those who have the contract judge it.
  assert.equal(v.problem([item('u', { id: 'no-such' }, 'anything')]), undefined, 'unknown contract')
  assert.equal(v.problem([item('o', { id: 'max-register', version: '1' }, 'x')]), undefined, 'another version')
  assert.equal(v.problem([item('o', { id: 'max-register' }, 'x')]), undefined, 'unversioned, where ours has a version')
  assert.equal(v.problem([item('o', { id: 'g-counter', params: { no: 1 } }, 'x')]), undefined, 'params the contract refuses')
})

test('validating the costliest push a peer forwards stays well under 50 ms', () => {
  const v = new PushValidator(new ContractRegistry())
  const registry = createRegistry()
  const w = new PushValidator(registry)
  assert.equal(v.problem([item('k', { id: 'g-counter' }, 'x')]), undefined)
  // A g-counter of as many entries as fit a gossiped push, invalid at the very end: every entry is checked.
  const n = Math.floor(MAX_GOSSIP_PUSH_BYTES / 9)
  const state = Array.from({ length: n }, (_, i) => [`r${String(i).padStart(5, '0')}`, i === n - 1 ? 0 : 1])
  // The fastest of ten runs: what the work costs, not what a busy machine adds to it.
  let ms = Infinity
  for (let i = 0; i < 10; i++) {
    const start = performance.now()
    assert.ok(w.problem([item('k', { id: 'g-counter' }, state)]) !== undefined)
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
