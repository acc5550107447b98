// Issue 9.8: a write acknowledged by a store whose clock is 120 s ahead replicates to a peer with a correct
// clock (validity depends on the bytes alone), by push and by anti-entropy, and the peer reports the skew.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { LevelStorage } from '../../../core/level-storage.ts'
import { ReplicaStore } from '../../../core/replica-store.ts'
import { SyncEngine } from '../../../core/sync/engine.ts'
import type { SyncAction } from '../../../core/sync/types.ts'
import { createRegistry } from '../../../contracts/index.ts'
import { tempFolders } from '../../helpers/store-fixtures.ts'

const folders = await tempFolders('fast-clock')
after(folders.remove)

const AHEAD = 120_000

interface Side { id: string, store: ReplicaStore, engine: SyncEngine, clock: () => number }

async function side (id: string, offset: number): Promise<Side> {
  const clock = (): number => Date.now() + offset
  const store = await ReplicaStore.open({ storage: await LevelStorage.open(folders.next()), registry: createRegistry(), replica: `r-${id}`, clock })
  const engine = await SyncEngine.create(store, { self: id, now: clock(), random: () => 0.5 })
  return { id, store, engine, clock }
}

/** Hands `actions` of `from` to `to` (two peers: a publish reaches the other one), and what comes back, until quiet. */
async function exchange (from: Side, to: Side, actions: SyncAction[], drop: (bytes: Uint8Array) => boolean = () => false): Promise<void> {
  let queue = actions.map(a => ({ src: from, dst: to, bytes: a.bytes }))
  for (let steps = 0; queue.length > 0; steps++) {
    assert.ok(steps < 1000, 'the exchange does not settle')
    const next: typeof queue = []
    for (const m of queue) {
      if (drop(m.bytes)) continue
      for (const a of await m.dst.engine.receive(m.src.id, m.bytes, m.dst.clock())) next.push({ src: m.dst, dst: m.src, bytes: a.bytes })
    }
    queue = next
  }
}

/** The push a side sends for its local writes (its push window passed). */
async function pushes (s: Side): Promise<SyncAction[]> {
  return await s.engine.tick(s.clock() + 1000)
}

test('lww-register set and log append on a store 120 s fast are acknowledged, merged by a peer with a correct clock, and the skew is reported', async () => {
  const fast = await side('fast', AHEAD)
  const right = await side('right', 0)
  try {
    // Acknowledged locally: the writer cannot tell its clock is fast, and need not.
    const set = await fast.store.update('reg', 'lww-register', 'set', ['from the fast clock'])
    assert.equal(set.value, 'from the fast clock')
    const appended = await fast.store.update('chat', 'log', 'append', ['hello'])
    assert.equal((appended.value as unknown[]).length, 1)
    for (const key of ['reg', 'chat']) fast.engine.localUpdate(key, { id: key === 'reg' ? 'lww-register' : 'log' }, {}, fast.clock())

    await exchange(fast, right, await pushes(fast))
    assert.equal(right.engine.stats().rejectedDeltas, 0, 'the correct clock refused the fast clock\'s states')
    assert.equal((await right.store.get('reg'))?.value, 'from the fast clock')
    const chat = (await right.store.get('chat'))?.value as Array<{ at: number, value: unknown }>
    assert.deepEqual(chat.map(e => e.value), ['hello'])

    // The receiver estimates the sender's skew from the stamps it sent.
    const [skew] = right.engine.clockSkew(right.clock())
    assert.equal(skew.peer, 'fast')
    assert.ok(skew.aheadMs > AHEAD - 10_000 && skew.aheadMs <= AHEAD, `estimated ${skew.aheadMs} ms ahead`)
    assert.equal(skew.samples, 2)

    // The correct clock's own writes stamp at most now + 60 s: they order before the fast stamps until real time catches up.
    assert.equal((await right.store.update('reg', 'lww-register', 'set', ['too early'])).value, 'from the fast clock')
    const mine = await right.store.update('chat', 'log', 'append', ['mine'])
    assert.deepEqual((mine.value as Array<{ value: unknown }>).map(e => e.value), ['mine', 'hello'])
    const at = (mine.value as Array<{ at: number }>)[0].at
    assert.ok(at <= right.clock() + 60_000 && at >= right.clock() + 50_000, `appended at now + ${at - right.clock()} ms`)
  } finally {
    fast.engine.close(); right.engine.close()
    await fast.store.close(); await right.store.close()
  }
})

test('with the push lost, anti-entropy carries the fast clock\'s write and the digests agree afterwards', async () => {
  const fast = await side('fast', AHEAD)
  const right = await side('right', 0)
  try {
    await fast.store.update('reg', 'lww-register', 'set', ['by session'])
    fast.engine.localUpdate('reg', { id: 'lww-register' }, {}, fast.clock())
    await pushes(fast) // lost
    // Digests both ways (as when they connect), then the sessions they start.
    await exchange(fast, right, fast.engine.peerJoined('right', fast.clock()))
    await exchange(right, fast, right.engine.peerJoined('fast', right.clock()))
    for (let i = 0; i < 5 && (await right.store.get('reg')) === undefined; i++) {
      await exchange(right, fast, await right.engine.tick(right.clock() + 2000 * (i + 1)))
      await exchange(fast, right, await fast.engine.tick(fast.clock() + 2000 * (i + 1)))
    }
    assert.equal(right.engine.stats().rejectedDeltas, 0)
    assert.equal((await right.store.get('reg'))?.value, 'by session')
    assert.deepEqual(await right.store.summary('reg'), await fast.store.summary('reg'))
    assert.ok(right.engine.clockSkew(right.clock())[0].aheadMs > AHEAD - 10_000)
  } finally {
    fast.engine.close(); right.engine.close()
    await fast.store.close(); await right.store.close()
  }
})
