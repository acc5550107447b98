// Writes too large for a gossiped push (over 64 KiB) travel only by sessions (PROTOCOL.md §3):
// between two partial neighbours that both hold the key, their own sessions carry it.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createRegistry } from '../../../contracts/index.ts'
import { ReplicaStore } from '../../../core/replica-store.ts'
import { MemoryStorage } from '../../../core/storage.ts'
import { SyncEngine } from '../../../core/sync/engine.ts'
import type { Interest, SyncAction } from '../../../core/sync/types.ts'

class SetInterest implements Interest {
  readonly keys = new Set<string>()
  wants (key: string): boolean { return this.keys.has(key) }
  wanted (): Iterable<string> { return this.keys }
}

test('a write over 64 KiB reaches a partial neighbour that holds the key, by session', async () => {
  const registry = createRegistry()
  let now = 1_700_000_000_000
  const make = async (id: string): Promise<{ id: string, store: ReplicaStore, engine: SyncEngine }> => {
    const store = await ReplicaStore.open({ storage: new MemoryStorage(), registry, replica: id, clock: () => now })
    const engine = await SyncEngine.create(store, { self: id, now, config: { antiEntropyMs: 300 }, interest: new SetInterest(), random: () => 0.5 })
    return { id, store, engine }
  }
  const peers = [await make('A'), await make('C')]
  const [A, C] = peers
  const queue: Array<{ from: string, to: string, bytes: Uint8Array }> = []
  const post = (from: string, actions: SyncAction[]): void => {
    for (const a of actions) {
      if (a.type === 'send') queue.push({ from, to: a.to, bytes: a.bytes })
      else for (const p of peers) if (p.id !== from) queue.push({ from, to: p.id, bytes: a.bytes })
    }
  }
  const run = async (ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += 50) {
      now += 50
      for (const p of peers) post(p.id, await p.engine.tick(now))
      for (let e = queue.shift(); e !== undefined; e = queue.shift()) {
        const to = peers.find(p => p.id === e!.to)!
        post(to.id, await to.engine.receive(e.from, e.bytes, now))
      }
    }
  }
  const add = async (p: typeof A, value: string): Promise<void> => {
    const r = await p.store.update('k', 'or-set', 'add', [value])
    post(p.id, p.engine.localUpdate('k', r.contract, r.delta!, now))
  }
  post('A', A.engine.peerJoined('C', now)); post('C', C.engine.peerJoined('A', now))
  await add(A, 'small-a'); await add(C, 'small-c')
  await run(2_000)
  assert.deepEqual((await C.store.get('k'))?.value, ['small-a', 'small-c'], 'small pushes')

  const large = 'x'.repeat(70_000)
  await add(A, large)
  await run(10_000)
  assert.equal(A.engine.stats().sessionOnlyItems, 1, 'the large add was not pushed')
  assert.deepEqual(((await C.store.get('k'))?.value as string[]).map(v => v.slice(0, 8)), ['small-a', 'small-c', 'xxxxxxxx'], 'the large add reached C by session')
})
