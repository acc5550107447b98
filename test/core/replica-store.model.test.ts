/**
 * Model test: random groups of concurrent updates, remote merges, catch-ups,
 * refused requests and close-and-reopen, on real LevelDB, checked after every
 * group against an in-memory model: each key's state is the fold (merge) of
 * every delta the store acknowledged, and its log is the newest local deltas.
 */
import assert from 'node:assert/strict'
import { after, it } from 'node:test'
import fc from 'fast-check'
import { canonicalEqual, type Plain } from '../../core/codec.ts'
import type { AnyContract, OpContext } from '../../core/contract.ts'
import { ContractError } from '../../core/errors.ts'
import type { JsonValue } from '../../core/json.ts'
import { LevelStorage } from '../../core/level-storage.ts'
import { ReplicaStore } from '../../core/replica-store.ts'
import { orSet } from '../../contracts/or-set.ts'
import { pnCounter } from '../../contracts/pn-counter.ts'
import { maxRegister } from '../fixtures/max-register.ts'
import { tempFolders, testRegistry } from '../helpers/store-fixtures.ts'

const folders = await tempFolders('model')
after(folders.remove)
const registry = testRegistry()
const LOG_LIMIT = 3
const PEERS = ['peer-a', 'peer-b']

interface OpCall { op: string, args: JsonValue[] }
interface KeySpec { key: string, contract: AnyContract, wrong: string, call: fc.Arbitrary<OpCall> }

const small = fc.constantFrom('a', 'b', 'c')
const KEYS: KeySpec[] = [
  { key: 'count', contract: pnCounter, wrong: 'or-set', call: fc.record({ op: fc.constantFrom('inc', 'dec'), args: fc.tuple(fc.nat({ max: 3 })) }) },
  { key: 'set/😀\u0000', contract: orSet, wrong: 'pn-counter', call: fc.record({ op: fc.constantFrom('add', 'add', 'remove'), args: fc.tuple(small) }) },
  { key: 'max', contract: maxRegister, wrong: 'capped-max', call: fc.record({ op: fc.constant('set'), args: fc.tuple(fc.integer({ min: 0, max: 50 })) }) }
]

type Action =
  | { kind: 'update', key: number, call: OpCall }
  | { kind: 'remote-op', key: number, peer: number, call: OpCall }
  | { kind: 'remote-state', key: number, peer: number }
  | { kind: 'pull', key: number, peer: number }
  | { kind: 'mismatch', key: number }
  | { kind: 'bad-delta', key: number }
  | { kind: 'remote-many', sends: Array<{ key: number, peer: number, call: OpCall }>, duplicate: boolean }

const keyIdx = fc.nat({ max: KEYS.length - 1 })
const peerIdx = fc.nat({ max: PEERS.length - 1 })
const callFor = (key: number): fc.Arbitrary<OpCall> => KEYS[key].call.map(c => ({ op: c.op, args: [...c.args] as JsonValue[] }))
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: keyIdx.chain(key => callFor(key).map(call => ({ kind: 'update' as const, key, call }))) },
  { weight: 3, arbitrary: fc.tuple(keyIdx, peerIdx).chain(([key, peer]) => callFor(key).map(call => ({ kind: 'remote-op' as const, key, peer, call }))) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remote-state' as const), key: keyIdx, peer: peerIdx }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pull' as const), key: keyIdx, peer: peerIdx }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('mismatch' as const), key: keyIdx }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bad-delta' as const), key: keyIdx }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('remote-many' as const),
      sends: fc.array(fc.tuple(keyIdx, peerIdx).chain(([key, peer]) => callFor(key).map(call => ({ key, peer, call }))), { minLength: 1, maxLength: 6 }),
      duplicate: fc.boolean()
    })
  }
)
const group = fc.record({ actions: fc.array(action, { minLength: 1, maxLength: 6 }), reopen: fc.boolean() })

interface KeyModel { fold: Plain, bound: boolean, deltas: Array<{ seq: number, delta: Plain }>, peers: Plain[] }

function isCode (code: string): (err: unknown) => boolean {
  return err => err instanceof ContractError && err.code === code
}

it('store views equal the fold of acknowledged deltas, across concurrency and reopen (property)', async () => {
  await fc.assert(fc.asyncProperty(fc.array(group, { minLength: 1, maxLength: 8 }), async groups => {
    const path = folders.next()
    const open = async (): Promise<ReplicaStore> => await ReplicaStore.open({ storage: await LevelStorage.open(path), registry, deltaLogLimit: LOG_LIMIT })
    let store = await open()
    const replica = store.replica
    const model: KeyModel[] = KEYS.map(k => ({ fold: k.contract.empty(), bound: false, deltas: [], peers: PEERS.map(() => k.contract.empty()) }))
    let mismatches = 0
    try {
      for (const g of groups) {
        const running: Array<Promise<unknown>> = []
        for (const a of g.actions) running.push(start(store, model, a, () => { mismatches++ }))
        const closing = g.reopen ? store.close() : undefined
        await Promise.all(running)
        if (closing !== undefined) {
          await closing
          store = await open()
          assert.equal(store.replica, replica)
          mismatches = 0 // stats count since open
        }
        await check(store, model, mismatches)
      }
    } finally {
      await store.close()
    }
  }), { numRuns: 100 })
})

/** Starts one action at once (so a group's actions overlap) and returns its completion, which updates the model. */
function start (store: ReplicaStore, model: KeyModel[], a: Action, countMismatch: () => void): Promise<unknown> {
  if (a.kind === 'remote-many') return sendMany(store, model, a.sends, a.duplicate)
  const spec = KEYS[a.key]; const m = model[a.key]; const c = spec.contract
  switch (a.kind) {
    case 'update':
      return store.update(spec.key, c.id, a.call.op, a.call.args).then(r => {
        if (r.delta === undefined) return
        m.fold = c.merge(m.fold, r.delta)
        m.bound = true
        m.deltas.push({ seq: r.seq, delta: r.delta })
      })
    case 'remote-op': {
      const ctx: OpContext = { replica: PEERS[a.peer], now: 0 }
      const d = c.ops[a.call.op](m.peers[a.peer], a.call.args, ctx) as Plain | undefined
      if (d === undefined) return Promise.resolve()
      m.peers[a.peer] = c.merge(m.peers[a.peer], d)
      return sendRemote(store, spec, m, d, PEERS[a.peer])
    }
    case 'remote-state':
      return sendRemote(store, spec, m, m.peers[a.peer], PEERS[a.peer])
    case 'pull':
      return store.deltaFor(spec.key, c.summarize(m.peers[a.peer])).then(r => {
        if (r !== undefined) m.peers[a.peer] = c.merge(m.peers[a.peer], c.validate(r.delta))
      })
    case 'mismatch':
      if (!m.bound) return Promise.resolve() // an unbound key would take any contract
      countMismatch()
      return assert.rejects(a.key % 2 === 0 ? store.mergeRemote(spec.key, spec.wrong, null, 'peer-a') : store.update(spec.key, spec.wrong, 'set', [1]), isCode('contract_mismatch'))
    case 'bad-delta':
      return assert.rejects(store.mergeRemote(spec.key, c.id, { garbage: true }, 'peer-a'), isCode('invalid_state'))
  }
}

function sendRemote (store: ReplicaStore, spec: KeySpec, m: KeyModel, d: Plain, origin: string): Promise<unknown> {
  const c = spec.contract
  // The store holds at least everything acknowledged so far: a delta already in that cannot change it.
  const alreadyIn = canonicalEqual(c.merge(m.fold, d), m.fold)
  return store.mergeRemote(spec.key, c.id, d, origin).then(r => {
    assert.ok(!(alreadyIn && r.changed), `a delta the store already held changed ${spec.key}`)
    m.fold = c.merge(m.fold, d)
    if (r.changed) m.bound = true
  })
}

/** Peers' op deltas (plus a duplicate and a garbage item) in one mergeRemoteMany call. */
function sendMany (store: ReplicaStore, model: KeyModel[], sends: Array<{ key: number, peer: number, call: OpCall }>, duplicate: boolean): Promise<unknown> {
  const items: Array<{ key: number, delta: unknown, origin: string, alreadyIn: boolean }> = []
  for (const { key, peer, call } of sends) {
    const c = KEYS[key].contract; const m = model[key]
    const d = c.ops[call.op](m.peers[peer], call.args, { replica: PEERS[peer], now: 0 }) as Plain | undefined
    if (d === undefined) continue
    m.peers[peer] = c.merge(m.peers[peer], d)
    items.push({ key, delta: d, origin: PEERS[peer], alreadyIn: canonicalEqual(c.merge(m.fold, d), m.fold) })
  }
  const dupAt = duplicate && items.length > 0 ? items.push({ ...items[0] }) - 1 : -1
  items.push({ key: 0, delta: 'garbage', origin: 'peer-a', alreadyIn: false })
  return store.mergeRemoteMany(items.map(i => ({ key: KEYS[i.key].key, contract: KEYS[i.key].contract.id, delta: i.delta, origin: i.origin }))).then(outcomes => {
    assert.equal(outcomes.length, items.length)
    outcomes.forEach((o, j) => {
      const { key, delta, alreadyIn } = items[j]
      if (j === items.length - 1) {
        assert.ok('error' in o && isCode('invalid_state')(o.error), 'the garbage item is refused')
        return
      }
      assert.ok(!('error' in o), `item ${j} merged`)
      if (j === dupAt) assert.equal(o.changed, false, 'a duplicate in the same call changes nothing')
      assert.ok(!(alreadyIn && o.changed), 'a delta the store already held changed nothing')
      const m = model[key]
      m.fold = KEYS[key].contract.merge(m.fold, delta as Plain)
      if (o.changed) m.bound = true
    })
  })
}

async function check (store: ReplicaStore, model: KeyModel[], mismatches: number): Promise<void> {
  for (let i = 0; i < KEYS.length; i++) {
    const { key, contract: c } = KEYS[i]; const m = model[i]
    const got = await store.get(key)
    if (!m.bound) {
      assert.equal(got, undefined, `${key} was never changed`)
      continue
    }
    assert.deepEqual(got, { key, contract: { id: c.id }, value: c.view(m.fold) }, `view of ${key}`)
    assert.ok(canonicalEqual((await store.summary(key))!.summary, c.summarize(m.fold)), `summary of ${key}`)
    const seqs = m.deltas.map(d => d.seq).sort((x, y) => x - y)
    assert.deepEqual(seqs, seqs.map((_, j) => j + 1), `local seqs of ${key} are 1..n`)
    const newest = [...m.deltas].sort((x, y) => x.seq - y.seq).slice(-LOG_LIMIT)
    const log = await store.deltaLog(key)
    assert.equal(log.length, newest.length, `log length of ${key}`)
    log.forEach((e, j) => {
      assert.equal(e.seq, newest[j].seq)
      assert.ok(canonicalEqual(e.delta, newest[j].delta), `log entry ${e.seq} of ${key}`)
    })
  }
  assert.equal(store.stats().contractMismatches, mismatches)
}
