// Write ids of local writes (core/write-id.ts): what update returns, what subscribers see, and how the
// delta log's entries are named across a new epoch (ReplicaStore.writeIdOf).
import assert from 'node:assert/strict'
import { it } from 'node:test'
import { ReplicaStore } from '../../core/replica-store.ts'
import { MemoryStorage } from '../../core/storage.ts'
import type { Change } from '../../core/subscription.ts'
import { formatWriteId, parseWriteId } from '../../core/write-id.ts'
import { testRegistry } from '../helpers/store-fixtures.ts'

const registry = testRegistry()

it('formatWriteId and parseWriteId round-trip; parseWriteId refuses what is not REPLICA/SEQ', () => {
  assert.deepEqual(parseWriteId(formatWriteId('p0+abc', 7)), { replica: 'p0+abc', seq: 7 })
  for (const bad of ['', 'p0', '/3', 'p0/0', 'p0/-1', 'p0/1.5', 'p0/01', 'p0/99999999999999999', 7, null, 'x'.repeat(301) + '/1']) {
    assert.equal(parseWriteId(bad), undefined, JSON.stringify(bad))
  }
})

it('an update returns its write id; a subscriber sees it as "write"; an op that changes nothing has none', async () => {
  const store = await ReplicaStore.open({ storage: new MemoryStorage(), registry, replica: 'alice' })
  try {
    const sub = store.subscribe('s')
    const a = await store.update('s', 'or-set', 'add', ['x'])
    const b = await store.update('s', 'or-set', 'add', ['y'])
    assert.equal(a.write, 'alice/1')
    assert.equal(b.write, 'alice/2')
    const noop = await store.update('s', 'or-set', 'remove', ['absent'])
    assert.equal(noop.delta, undefined)
    assert.equal(noop.write, undefined)
    const seen: Change[] = []
    for await (const c of sub) { seen.push(c); if (seen.length === 2) break }
    assert.deepEqual(seen.map(c => [c.origin, c.write]), [['local', 'alice/1'], ['local', 'alice/2']])
  } finally {
    await store.close()
  }
})

it('a remote change carries the write ids its sender named, [] when none', async () => {
  const store = await ReplicaStore.open({ storage: new MemoryStorage(), registry, replica: 'bob' })
  const other = await ReplicaStore.open({ storage: new MemoryStorage(), registry, replica: 'alice' })
  try {
    const d1 = (await other.update('s', 'or-set', 'add', ['x'])).delta
    const d2 = (await other.update('s', 'or-set', 'add', ['y'])).delta
    const sub = store.subscribe('s')
    await store.mergeRemoteMany([{ key: 's', contract: 'or-set', delta: d1, origin: 'peerA', writes: ['alice/1'] }])
    await store.mergeRemoteMany([{ key: 's', contract: 'or-set', delta: d2, origin: 'peerA' }])
    const seen: Change[] = []
    for await (const c of sub) { seen.push(c); if (seen.length === 2) break }
    assert.deepEqual(seen.map(c => [c.origin, c.writes, c.write]), [['peerA', ['alice/1'], undefined], ['peerA', [], undefined]])
  } finally {
    await store.close()
    await other.close()
  }
})

it('after a new epoch, log entries written before it are named by the replaced id, later ones by the new id', async () => {
  const storage = new MemoryStorage()
  const first = await ReplicaStore.open({ storage, registry, replica: 'p0' })
  await first.update('s', 'or-set', 'add', ['a'])
  await first.update('s', 'or-set', 'add', ['b'])
  await storage.close() // dies without a clean close
  const second = await ReplicaStore.open({ storage: storage.reopen(), registry, replica: 'p0' })
  try {
    assert.deepEqual(second.replaced?.replica, 'p0')
    assert.notEqual(second.replica, 'p0')
    assert.equal(second.writeIdOf('s', 2), 'p0/2', 'before any write of this epoch, every entry is the old epoch\'s')
    const r = await second.update('s', 'or-set', 'add', ['c'])
    assert.equal(r.write, `${second.replica}/3`)
    const ids = (await second.deltaLog('s')).map(d => second.writeIdOf('s', d.seq))
    assert.deepEqual(ids, ['p0/1', 'p0/2', `${second.replica}/3`])
  } finally {
    await second.close()
  }
})
