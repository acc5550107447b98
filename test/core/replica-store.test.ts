import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { isReplicaId } from '../../core/dots.ts'
import { ContractError, type ContractErrorCode } from '../../core/errors.ts'
import { LevelStorage } from '../../core/level-storage.ts'
import { ReplicaStore, type ReplicaStoreOptions } from '../../core/replica-store.ts'
import { type BatchOp, MemoryStorage, type Storage } from '../../core/storage.ts'
import type { Change } from '../../core/subscription.ts'
import { pnCounter } from '../../contracts/pn-counter.ts'
import { orSet } from '../../contracts/or-set.ts'
import { tempFolders, testRegistry } from '../helpers/store-fixtures.ts'

const folders = await tempFolders('store')
after(folders.remove)
const registry = testRegistry()

const storageOf = new WeakMap<ReplicaStore, Storage>()

async function openAt (path: string, options: Partial<ReplicaStoreOptions> = {}): Promise<ReplicaStore> {
  const storage = await LevelStorage.open(path)
  const store = await ReplicaStore.open({ storage, registry, ...options })
  storageOf.set(store, storage)
  return store
}

/** Runs `fn` on a store over a fresh LevelDB folder and closes it. */
async function withStore (fn: (store: ReplicaStore, path: string) => Promise<void>, options: Partial<ReplicaStoreOptions> = {}): Promise<void> {
  const path = folders.next()
  const store = await openAt(path, options)
  try { await fn(store, path) } finally { await store.close() }
}

/** Every stored byte, as hex pairs: to prove that refused input wrote nothing. */
async function dump (storage: Storage): Promise<string[]> {
  const out: string[] = []
  for await (const [k, v] of storage.iterator({})) out.push(Buffer.from(k).toString('hex') + '=' + Buffer.from(v).toString('hex'))
  return out
}

function code (c: ContractErrorCode): (err: unknown) => boolean {
  return err => {
    assert.ok(err instanceof ContractError, `expected ContractError(${c}), got ${String(err)}`)
    assert.equal(err.code, c, err.message)
    return true
  }
}

describe('ReplicaStore', () => {
  it('persists a generated replica id and refuses another one on reopen', async () => {
    const path = folders.next()
    const first = await openAt(path)
    assert.ok(isReplicaId(first.replica) && first.replica.length >= 16)
    await first.close()
    const again = await openAt(path)
    assert.equal(again.replica, first.replica)
    await again.close()
    await assert.rejects(openAt(path, { replica: 'someone-else' }), /belongs to replica/)
    const other = await ReplicaStore.open({ storage: new MemoryStorage(), registry, replica: 'alice' })
    assert.equal(other.replica, 'alice')
    await other.close()
  })

  it('update commits and returns the new value, the delta and the seq; get reads it back after reopen', async () => {
    const path = folders.next()
    const store = await openAt(path)
    assert.equal(await store.get('n'), undefined)
    const r = await store.update('n', 'pn-counter', 'inc', [5])
    assert.deepEqual(r, { key: 'n', contract: { id: 'pn-counter' }, value: 5, delta: { p: [[store.replica, 5]], n: [] }, seq: 1, write: `${store.replica}/1` })
    await store.update('n', 'pn-counter', 'dec', [2])
    assert.deepEqual(await store.get('n'), { key: 'n', contract: { id: 'pn-counter' }, value: 3 })
    await store.close()
    const again = await openAt(path)
    assert.deepEqual(await again.get('n'), { key: 'n', contract: { id: 'pn-counter' }, value: 3 })
    assert.equal((await again.update('n', 'pn-counter', 'inc', [])).seq, 3)
    await again.close()
  })

  it('concurrent updates to one key all land, in few batches', async () => {
    await withStore(async store => {
      const results = await Promise.all(Array.from({ length: 200 }, () => store.update('hot', 'pn-counter', 'inc', [1])))
      assert.deepEqual(results.map(r => r.seq), Array.from({ length: 200 }, (_, i) => i + 1))
      assert.equal((await store.get('hot'))!.value, 200)
      assert.ok(store.stats().batches <= 5, `batches: ${store.stats().batches}`)
      assert.equal(store.stats().updates, 200)
    })
  })

  it('an op that changes nothing writes nothing and returns delta undefined', async () => {
    await withStore(async store => {
      await store.update('m', 'max-register', 'set', [7])
      const before = store.stats()
      const r = await store.update('m', 'max-register', 'set', [3])
      assert.equal(r.delta, undefined)
      assert.equal(r.value, 7)
      assert.equal(store.stats().batches, before.batches)
    })
  })

  it('refuses another contract for a bound key, counts it, and merges nothing', async () => {
    await withStore(async store => {
      await store.update('c', { id: 'capped-max', params: { cap: 10 } }, 'set', [50])
      assert.deepEqual(await store.get('c'), { key: 'c', contract: { id: 'capped-max', params: { cap: 10 } }, value: 10 })
      await assert.rejects(store.update('c', 'max-register', 'set', [60]), code('contract_mismatch'))
      await assert.rejects(store.update('c', { id: 'capped-max', params: { cap: 99 } }, 'set', [60]), code('contract_mismatch'))
      await assert.rejects(store.mergeRemote('c', 'max-register', 60, 'peer'), code('contract_mismatch'))
      assert.equal(store.stats().contractMismatches, 3)
      // The same id without params uses the bound params: the cap still applies.
      assert.equal((await store.update('c', 'capped-max', 'set', [70])).value, 10)
      assert.deepEqual((await store.mergeRemote('c', { id: 'capped-max', params: {} }, 8, 'peer')), { changed: false })
      assert.equal((await store.get('c'))!.value, 10)
    })
  })

  it('bad input throws the right ContractError and changes nothing', async () => {
    await withStore(async store => {
      await store.update('s', 'or-set', 'add', ['x'])
      await store.update('m', 'max-register', 'set', [1])
      const storage = await dumpOf(store)
      const stats = store.stats()
      const cases: Array<[() => Promise<unknown>, ContractErrorCode]> = [
        [() => store.update('', 'or-set', 'add', ['y']), 'bad_key'],
        [() => store.update('x'.repeat(1025), 'or-set', 'add', ['y']), 'bad_key'],
        [() => store.update('a\ud800', 'or-set', 'add', ['y']), 'bad_key'],
        [() => store.update('new', 'no-such', 'add', ['y']), 'unknown_contract'],
        [() => store.update('new', 'max-register', 'nope', [1]), 'unknown_op'],
        [() => store.update('s', 'or-set', 'constructor', ['y']), 'unknown_op'],
        [() => store.update('s', 'or-set', '__proto__', ['y']), 'unknown_op'],
        [() => store.update('s', 'or-set', 'add', []), 'bad_args'],
        [() => store.update('s', 'or-set', 'add', [Number.NaN]), 'bad_args'],
        [() => store.update('s', 'or-set', 'add', 'y' as never), 'bad_args'],
        [() => store.update('new', { id: 'max-register', params: { a: 1 } }, 'set', [1]), 'bad_args'],
        [() => store.mergeRemote('s', 'or-set', { e: 'garbage', c: [] }, 'peer'), 'invalid_state'],
        [() => store.mergeRemote('m', 'max-register', 'seven', 'peer'), 'invalid_state'],
        [() => store.mergeRemote('new', 'or-set', { e: [[1, ['peer', 1]]], c: [] }, 'peer'), 'invalid_state'],
        [() => store.mergeRemote('m', 'max-register', 9, ''), 'bad_args'],
        [() => store.mergeRemote('m', 'max-register', 9, 'local'), 'bad_args'],
        [() => store.deltaFor('s', { not: 'a dot set' }), 'invalid_summary'],
        [() => store.get(7 as never), 'bad_key']
      ]
      for (const [call, c] of cases) await assert.rejects(call(), code(c))
      assert.deepEqual(await dumpOf(store), storage)
      assert.deepEqual(store.stats(), stats)
      assert.deepEqual(await store.keys(), ['m', 's'])
    })
  })

  it('onCommit reports every committed key with its new summary, local and remote, and nothing else', async () => {
    await withStore(async store => {
      const seen: Array<[string, unknown]> = []
      const stop = store.onCommit(c => { seen.push([c.key, c.summary]) })
      await store.update('a', 'pn-counter', 'inc', [2])
      await store.update('a', 'pn-counter', 'inc', [0]) // changes nothing: no commit
      const peerDelta = pnCounter.ops.inc(pnCounter.empty(), [5], { replica: 'peer', now: 0 })
      await store.mergeRemote('b', 'pn-counter', peerDelta, 'peer')
      await store.mergeRemote('b', 'pn-counter', peerDelta, 'peer') // redundant: no commit
      assert.deepEqual(seen, [['a', (await store.summary('a'))!.summary], ['b', (await store.summary('b'))!.summary]])
      stop()
      await store.update('a', 'pn-counter', 'inc', [1])
      assert.equal(seen.length, 2)
    })
  })

  it('a redundant remote merge writes nothing; a new one is applied', async () => {
    await withStore(async store => {
      assert.deepEqual(await store.mergeRemote('n', 'pn-counter', { p: [['bob', 2]], n: [] }, 'bob'), { changed: true })
      const bytes = await dumpOf(store)
      assert.deepEqual(await store.mergeRemote('n', 'pn-counter', { p: [['bob', 1]], n: [] }, 'bob'), { changed: false })
      assert.deepEqual(await store.mergeRemote('empty', 'pn-counter', { p: [], n: [] }, 'bob'), { changed: false })
      assert.deepEqual(await dumpOf(store), bytes)
      assert.equal(await store.get('empty'), undefined)
      assert.deepEqual(store.stats().merges, 1)
      assert.deepEqual(store.stats().redundantMerges, 2)
      assert.deepEqual(await store.deltaLog('n'), []) // remote deltas are not local deltas
    })
  })

  it('mergeRemoteMany returns one outcome per item, in order', async () => {
    await withStore(async store => {
      const out = await store.mergeRemoteMany([
        { key: 'a', contract: 'max-register', delta: 3, origin: 'p' },
        { key: 'a', contract: 'max-register', delta: 'bad', origin: 'p' },
        { key: 'a', contract: 'max-register', delta: 2, origin: 'p' },
        { key: 'b', contract: 'pn-counter', delta: { p: [['p', 1]], n: [] }, origin: 'p' }
      ])
      assert.deepEqual(out.map(o => 'error' in o ? (o.error as ContractError).code : o.changed), [true, 'invalid_state', false, true])
      assert.equal((await store.get('a'))!.value, 3)
    })
  })

  it('keeps a bounded, sequence-numbered log of local deltas', async () => {
    await withStore(async store => {
      const deltas = []
      for (let i = 1; i <= 7; i++) deltas.push((await store.update('k\u0000', 'max-register', 'set', [i])).delta)
      await Promise.all([8, 9].map(i => store.update('k\u0000', 'max-register', 'set', [i])))
      const id = (seq: number): string => `${store.replica}/${seq}`
      assert.deepEqual(await store.deltaLog('k\u0000'), [{ seq: 7, delta: 7, id: id(7) }, { seq: 8, delta: 8, id: id(8) }, { seq: 9, delta: 9, id: id(9) }])
      assert.deepEqual(await store.deltaLog('k\u0000', 8), [{ seq: 9, delta: 9, id: id(9) }])
      assert.deepEqual(await store.deltaLog('k'), [])
      assert.deepEqual(await store.deltaLog('absent'), [])
      await assert.rejects(store.deltaLog('k', -1), code('bad_args'))
      // Exactly three log entries are stored: the dropped ones were deleted.
      const logs = (await dumpOf(store)).filter(e => e.startsWith('02'))
      assert.equal(logs.length, 3)
    }, { deltaLogLimit: 3 })
  })

  it('summary and deltaFor let another replica catch up exactly', async () => {
    await withStore(async store => {
      await store.update('s', 'or-set', 'add', ['a'])
      await store.update('s', 'or-set', 'add', ['b'])
      await store.update('s', 'or-set', 'remove', ['a'])
      const theirs = orSet.ops.add(orSet.empty(), ['z'], { replica: 'peer', now: 0 })!
      const d = await store.deltaFor('s', orSet.summarize(theirs))
      assert.ok(d !== undefined)
      assert.deepEqual(d.contract, { id: 'or-set' })
      const caughtUp = orSet.merge(theirs, orSet.validate(d.delta))
      assert.deepEqual(orSet.view(caughtUp), ['b', 'z'])
      const mine = await store.summary('s')
      assert.deepEqual(await store.deltaFor('s', mine!.summary), undefined)
      assert.equal(await store.summary('nothing'), undefined)
      assert.equal(await store.deltaFor('nothing', []), undefined)
      // No summary: the other side has never seen the key, so it lacks everything.
      const all = await store.deltaFor('s')
      assert.deepEqual(orSet.view(orSet.merge(orSet.empty(), orSet.validate(all!.delta))), ['b'])
    })
  })

  it('lists keys by prefix in UTF-8 byte order, any UTF-8 included', async () => {
    await withStore(async store => {
      const keys = ['user/1', 'user/10', 'user/2', 'user', 'usera', 'user/\u0000', 'user/😀', 'z', '\u0000']
      await Promise.all(keys.map(k => store.update(k, 'max-register', 'set', [1])))
      const utf8Order = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      assert.deepEqual(await store.keys(), utf8Order)
      assert.deepEqual(await store.keys('user/'), utf8Order.filter(k => k.startsWith('user/')))
      assert.deepEqual(await store.keys('user'), utf8Order.filter(k => k.startsWith('user')))
      assert.deepEqual(await store.keys('nope'), [])
    })
  })

  it('subscribe yields local and remote changes with their origin, and stops', async () => {
    await withStore(async store => {
      const sub = store.subscribe('n')
      const ac = new AbortController()
      const other = store.subscribe('n', { signal: ac.signal })
      const elsewhere = store.subscribe('other')
      await store.update('n', 'pn-counter', 'inc', [2])
      await store.mergeRemote('n', 'pn-counter', { p: [['bob', 5]], n: [] }, 'bob')
      await store.mergeRemote('n', 'pn-counter', { p: [['bob', 5]], n: [] }, 'bob') // redundant: no event
      await store.update('n', 'pn-counter', 'dec', [1])
      const seen: Change[] = []
      for await (const c of sub) { seen.push(c); if (seen.length === 3) break }
      assert.deepEqual(seen.map(c => [c.origin, c.value]), [['local', 2], ['bob', 7], ['local', 6]])
      assert.deepEqual(seen[0].contract, { id: 'pn-counter' })
      assert.deepEqual(await sub.next(), { value: undefined, done: true })
      assert.deepEqual((await other.next()).value?.value, 2)
      ac.abort()
      assert.deepEqual(await other.next(), { value: undefined, done: true })
      const pending = elsewhere.next()
      await store.close()
      assert.deepEqual(await pending, { value: undefined, done: true })
    })
  })

  it('close waits for writes in flight; afterwards writes are refused', async () => {
    const path = folders.next()
    const store = await openAt(path)
    const writes = Array.from({ length: 50 }, (_, i) => store.update(`k${i % 5}`, 'pn-counter', 'inc', [1]))
    await store.close()
    assert.equal((await Promise.all(writes)).length, 50)
    await assert.rejects(store.update('k0', 'pn-counter', 'inc', [1]), /closed/)
    const again = await openAt(path)
    assert.deepEqual(await Promise.all([0, 1, 2, 3, 4].map(async i => (await again.get(`k${i}`))!.value)), [10, 10, 10, 10, 10])
    await again.close()
  })

  it('a failed storage write fails the writers and every later write', async () => {
    class FailingStorage extends MemoryStorage {
      fail = false
      override async batch (ops: BatchOp[]): Promise<void> {
        if (this.fail) throw new Error('disk on fire')
        await super.batch(ops)
      }
    }
    const storage = new FailingStorage()
    const store = await ReplicaStore.open({ storage, registry })
    await store.update('a', 'pn-counter', 'inc', [1])
    storage.fail = true
    await assert.rejects(store.update('a', 'pn-counter', 'inc', [1]), /disk on fire/)
    storage.fail = false
    await assert.rejects(store.update('b', 'pn-counter', 'inc', [1]), /refuses further writes/)
    assert.equal((await store.get('a'))!.value, 1)
    await store.close()
  })

  it('hot keys are served from memory: writes after the first do not read storage', async () => {
    class CountingStorage extends MemoryStorage {
      gets = 0
      override async get (key: Uint8Array): Promise<Uint8Array | undefined> { this.gets++; return await super.get(key) }
    }
    const storage = new CountingStorage()
    const store = await ReplicaStore.open({ storage, registry })
    await store.update('hot', 'pn-counter', 'inc', [1])
    const after = storage.gets
    for (let i = 0; i < 20; i++) await store.update('hot', 'pn-counter', 'inc', [1])
    await store.mergeRemote('hot', 'pn-counter', { p: [['peer', 1]], n: [] }, 'peer')
    assert.equal((await store.get('hot'))!.value, 22)
    assert.equal(storage.gets, after)
    await store.close()
  })

  it('works with no cache and no delta log', async () => {
    await withStore(async store => {
      await Promise.all([1, 2, 3].map(() => store.update('a', 'pn-counter', 'inc', [1])))
      assert.equal((await store.get('a'))!.value, 3)
      assert.deepEqual(await store.deltaLog('a'), [])
      assert.equal(pnCounter.view((await store.summary('a'))!.summary as never), 3)
    }, { cacheSize: 0, deltaLogLimit: 0 })
  })

  it('a second store on the same folder is refused while the first is open', async () => {
    await withStore(async (_store, path) => {
      await assert.rejects(openAt(path), (err: Error) => err.message.includes(path) && /already open/.test(err.message))
    })
  })
})

/** The raw contents of a store's storage. */
async function dumpOf (store: ReplicaStore): Promise<string[]> {
  return await dump(storageOf.get(store)!)
}
