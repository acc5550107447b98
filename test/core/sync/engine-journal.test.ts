// What the real SyncEngine records in its journal (core/sync/journal.ts), path by path: a push naming the
// writes it carries (type 9), a repair by anti-entropy, a want's answer, refusals by reason, and session ends.
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { MemoryStorage } from '../../../core/storage.ts'
import { ReplicaStore } from '../../../core/replica-store.ts'
import { SyncEngine } from '../../../core/sync/engine.ts'
import type { JournalRecord } from '../../../core/sync/journal.ts'
import { decodeMessage, encodeMessage } from '../../../core/sync/messages.ts'
import { PUSH_TOPIC, WRITES_TOPIC } from '../../../core/sync/types.ts'
import { createRegistry } from '../../../contracts/index.ts'
import { type Envelope, Net, START } from './harness.ts'

const of = (p: { engine: SyncEngine }, kind: JournalRecord['kind'], key?: string): JournalRecord[] =>
  p.engine.journal!.query({ key }).filter(r => r.kind === kind)

it('a local write is journaled as written with its id; its push is a writes push (type 9) and the receiver journals the ids, path push', async () => {
  const net = await Net.create(2)
  const [p0, p1] = net.peers
  const r = await p0.store.update('k', 'or-set', 'add', ['x'])
  net.post('p0', p0.engine.localUpdate('k', r.contract, r.delta!, net.now, r.write))
  assert.deepEqual(of(p0, 'written', 'k').map(w => [w.peer, (w as { writes: string[] }).writes]), [['p0', ['r0/1']]])
  await net.advance(10) // the push window passes
  const pushes = net.queue.filter(e => e.type === 'writes')
  assert.equal(pushes.length, 1, 'one writes push')
  await net.deliver()
  const merged = of(p1, 'merged', 'k')
  assert.equal(merged.length, 1)
  // As read (JSON): the record keeps the range and lists its ids when shown (core/sync/write-ranges.ts).
  assert.deepEqual({ ...JSON.parse(JSON.stringify(merged[0])), n: 0, bytes: 0 }, { kind: 'merged', key: 'k', peer: 'p0', path: 'push', writes: ['r0/1'], changed: true, bytes: 0, writtenAt: START, at: START + 10, n: 0 })
  assert.ok((merged[0] as { bytes: number }).bytes > 0, 'the bytes it cost')
})

it('pushes lost on the way arrive by anti-entropy: journaled as a repair that changed state, and each session\'s end is recorded', async () => {
  const net = await Net.create(2)
  const [p0, p1] = net.peers
  // Both sides wrote: neither holds a past state of the other, so they reconcile by a full session (a repair).
  await net.write('p0', 'lost', 'g-counter', 'inc', [3])
  await net.write('p1', 'mine', 'g-counter', 'inc', [1])
  await net.advance(10)
  await net.deliver({ drop: (e: Envelope) => e.type === 'push' || e.type === 'writes' })
  assert.equal(of(p1, 'merged', 'lost').length, 0, 'the push was dropped')
  await net.converge(5)
  const merged = of(p1, 'merged', 'lost')
  assert.ok(merged.some(m => m.kind === 'merged' && m.path === 'repair' && m.changed && m.peer === 'p0'), JSON.stringify(merged))
  const sessions = [...of(p0, 'session'), ...of(p1, 'session')]
  assert.ok(sessions.length > 0, 'session ends recorded')
  const s = sessions.find(x => x.kind === 'session' && x.keysReceived > 0)
  assert.ok(s !== undefined && s.kind === 'session' && s.ok && s.keysChanged >= 1 && s.bytesIn > 0, JSON.stringify(sessions))
  const sender = sessions.find(x => x.kind === 'session' && x.keysSent > 0)
  assert.ok(sender !== undefined && sender.kind === 'session' && sender.bytesOut > 0, 'the sending side counts keys and bytes sent')
})

it('a delta refused by the store is journaled with its reason: invalid, unknown_contract, contract_mismatch', async () => {
  const net = await Net.create(1)
  const [p0] = net.peers
  await net.write('p0', 'bound', 'g-counter', 'inc', [1])
  const push = (key: string, contract: string, delta: unknown): Uint8Array => encodeMessage({ type: 'push', items: [{ key, contract: { id: contract }, delta: delta as never }] })
  await p0.engine.receive('bad', push('k1', 'g-counter', [['r9', -5]]), net.now)
  await p0.engine.receive('bad', push('k2', 'no-such-contract', 1), net.now)
  await p0.engine.receive('bad', push('bound', 'or-set', { e: [], c: [] }), net.now)
  const reasons = of(p0, 'refused').map(r => r.kind === 'refused' ? [r.key, r.peer, r.path, r.reason] : [])
  assert.deepEqual(reasons, [['k1', 'bad', 'push', 'invalid'], ['k2', 'bad', 'push', 'unknown_contract'], ['bound', 'bad', 'push', 'contract_mismatch']])
  assert.ok(of(p0, 'refused').every(r => r.kind === 'refused' && r.message.length > 0), 'each names what was wrong')
})

it('a partial peer journals its want; the holder journals the answer; the push that brings the key is journaled as path want', async () => {
  const registry = createRegistry()
  const wants = new Set<string>()
  const holderStore = await ReplicaStore.open({ storage: new MemoryStorage(), registry, replica: 'h' })
  const partialStore = await ReplicaStore.open({ storage: new MemoryStorage(), registry, replica: 'q' })
  const holder = await SyncEngine.create(holderStore, { self: 'holder', now: START })
  const partial = await SyncEngine.create(partialStore, { self: 'partial', now: START, interest: { wants: k => wants.has(k), wanted: () => wants } })
  try {
    await holderStore.update('w', 'g-counter', 'inc', [2])
    wants.add('w')
    const asked = partial.want(['w'], START)
    assert.equal(asked.length, 1)
    assert.deepEqual(partial.journal!.query().map(r => [r.kind, r.key, r.peer]), [['want-sent', 'w', '*']])
    const answer = await holder.receive('partial', asked[0].bytes, START + 1)
    assert.ok(answer.length > 0, 'the holder answers')
    assert.deepEqual(holder.journal!.query().map(r => [r.kind, r.key, r.peer]), [['want-answered', 'w', 'partial']])
    for (const a of answer) await partial.receive('holder', a.bytes, START + 2)
    const merged = partial.journal!.query({ key: 'w' }).filter(r => r.kind === 'merged')
    assert.deepEqual(merged.map(r => r.kind === 'merged' ? [r.path, r.changed, r.peer] : []), [['want', true, 'holder']])
    assert.equal((await partialStore.get('w'))?.value, 2)
  } finally {
    holder.close(); partial.close()
    await holderStore.close(); await partialStore.close()
  }
})

it('a peer at a past state of another pulls a catch-up: journaled as path catch-up', async () => {
  const net = await Net.create(2)
  const [p0, p1] = net.peers
  await net.write('p0', 'late', 'g-counter', 'inc', [3])
  await net.advance(10)
  await net.deliver({ drop: (e: Envelope) => e.type === 'push' || e.type === 'writes' })
  await net.converge(5)
  assert.deepEqual(of(p1, 'merged', 'late').map(m => m.kind === 'merged' ? [m.path, m.changed] : []), [['catch-up', true]])
  assert.equal(of(p0, 'merged').length, 0, 'p0 lacked nothing')
})

it('the same delta arriving twice is journaled as redundant the second time', async () => {
  const net = await Net.create(2)
  const [p0, p1] = net.peers
  const r = await p0.store.update('d', 'or-set', 'add', ['x'])
  net.post('p0', p0.engine.localUpdate('d', r.contract, r.delta!, net.now, r.write))
  await net.advance(10)
  const [e] = net.queue.filter(x => x.to === 'p1' && x.type === 'writes')
  assert.equal(e.type, 'writes')
  await p1.engine.receive('p0', e.bytes, net.now)
  await p1.engine.receive('p2', e.bytes, net.now)
  assert.deepEqual(of(p1, 'merged', 'd').map(m => m.kind === 'merged' ? [m.peer, m.changed, m.writes] : []), [['p0', true, ['r0/1']], ['p2', false, ['r0/1']]])
  assert.ok(e.bytes.length > 0 && WRITES_TOPIC === 'monoidb/3/writes')
})

it('a writes push naming a huge range from a 255-character replica costs the journal its range, not its ids: few ids, small records', async () => {
  const net = await Net.create(1)
  const [p0] = net.peers
  await net.write('p0', 'known', 'g-counter', 'inc', [1])
  const known = await p0.store.deltaFor('known')
  const item = { key: 'known', contract: known!.contract, delta: known!.delta } // valid and already held: redundant
  const RECORDS = 2000
  const v8 = await import('node:v8')
  const vm = await import('node:vm')
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as () => void
  gc()
  const heapBefore = process.memoryUsage().heapUsed
  for (let i = 0; i < RECORDS; i++) {
    const replica = ('r' + i).padEnd(255, 'x')
    await p0.engine.receive('pusher', encodeMessage({ type: 'writes', items: [item], writes: [{ replica, first: 1, last: 2 ** 52, writtenAt: START }] }), net.now)
  }
  gc()
  const perRecord = (process.memoryUsage().heapUsed - heapBefore) / RECORDS
  const merged = of(p0, 'merged', 'known').filter(r => r.peer === 'pusher')
  assert.equal(merged.length, RECORDS)
  const last = merged.at(-1)! as { writes: string[] }
  assert.equal(last.writes.length, 8, 'the newest 8 ids are listed')
  assert.equal(last.writes[7], `${'r1999'.padEnd(255, 'x')}/${2 ** 52}`)
  const json = JSON.stringify(merged.at(-1))
  assert.ok(json.length < 2600, `one record is ${json.length} bytes of JSON`)
  assert.ok(!Object.values(merged.at(-1)!).some(Array.isArray), 'the record holds no list of ids')
  // 64 ids of 255 characters held per record cost about 17 KB; the range costs the replica id and a few numbers.
  console.log(`heap per record ${Math.round(perRecord)} B, one record ${json.length} B of JSON`)
  assert.ok(perRecord < 2000, `about ${Math.round(perRecord)} bytes of heap per record`)
})

it('a writes push it accepts gives one relay (its type-1 copy for older peers), once per content; a redundant or refused one gives none', async () => {
  const net = await Net.create(2)
  const [p0, p1] = net.peers
  await net.write('p0', 'r', 'g-counter', 'inc', [2])
  const d = await p0.store.deltaFor('r')
  const item = { key: 'r', contract: d!.contract, delta: d!.delta }
  const push = encodeMessage({ type: 'writes', items: [item], writes: [{ replica: 'r0', first: 1, last: 1, writtenAt: START }] })
  const first = await p1.engine.receive('p0', push, net.now)
  assert.equal(first.length, 1)
  const relay = first[0]
  assert.ok(relay.type === 'relay' && relay.topic === PUSH_TOPIC && relay.lacking === WRITES_TOPIC)
  assert.deepEqual(decodeMessage(relay.bytes), { type: 'push', items: [item] })
  assert.deepEqual(await p1.engine.receive('p9', push, net.now), [], 'the same content again: no relay')
  const bad = encodeMessage({ type: 'writes', items: [{ key: 'x', contract: { id: 'g-counter' }, delta: [['r9', -5]] as never }], writes: [undefined] })
  assert.deepEqual(await p1.engine.receive('p0', bad, net.now), [], 'a refused item: no relay')
})
