// The comparison behind inspect and trace, on real stores (LevelDB on disk) with every built-in contract:
// questions and answers go through the wire encoding, as between two peers.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import type { JsonValue } from '../../../core/json.ts'
import { LevelStorage } from '../../../core/level-storage.ts'
import { ContractRegistry } from '../../../core/registry.ts'
import { ReplicaStore } from '../../../core/replica-store.ts'
import { type Inspected, decodeInspectMessage, encodeInspectMessage } from '../../../core/sync/inspect-messages.ts'
import { type InspectSource, answerQuery, compare, holdsWrite, makeQuery, readLocal } from '../../../core/sync/inspection.ts'
import { Journal } from '../../../core/sync/journal.ts'
import { formatWriteId } from '../../../core/write-id.ts'
import { createRegistry } from '../../../contracts/index.ts'
import { tempFolders } from '../../helpers/store-fixtures.ts'

const folders = await tempFolders('inspection')
const stores: ReplicaStore[] = []
after(async () => {
  await Promise.allSettled(stores.map(async s => await s.close()))
  await folders.remove()
})

async function open (registry: ContractRegistry = createRegistry()): Promise<{ store: ReplicaStore, src: InspectSource, journal: Journal }> {
  const store = await ReplicaStore.open({ storage: await LevelStorage.open(folders.next()), registry })
  stores.push(store)
  const journal = new Journal(100)
  const src: InspectSource = {
    replica: store.replica,
    summary: async k => await store.summary(k),
    deltaFor: async (k, s) => await store.deltaFor(k, s),
    deltaLog: async k => await store.deltaLog(k),
    resolve: b => registry.resolveBound(b),
    keeps: () => true,
    lacking: (k, held) => store.unresolved().get(k) ?? (held ? undefined : undefined),
    journal
  }
  return { store, src, journal }
}

let n = 0
/** A question from `asker` about `key`, answered by `answerer`, both through the wire. */
async function ask (asker: InspectSource, answerer: InspectSource, key: string, write?: string): Promise<Inspected> {
  const qid = new Uint8Array(8).fill(++n % 256)
  const q = decodeInspectMessage(encodeInspectMessage(await makeQuery(asker, key, qid, write)))
  assert.equal(q.type, 'inspect')
  const a = decodeInspectMessage(encodeInspectMessage(await answerQuery(answerer, q as Extract<typeof q, { type: 'inspect' }>, 'asker-peer')))
  assert.equal(a.type, 'inspected')
  return a as Inspected
}

/** Three writes of each built-in contract, as (op, args). */
const WRITES: Record<string, Array<[string, JsonValue[]]>> = {
  'g-counter': [['inc', [1]], ['inc', [2]], ['inc', [3]]],
  'pn-counter': [['inc', [5]], ['dec', [2]], ['inc', [1]]],
  'lww-register': [['set', ['a']], ['set', ['b']], ['set', ['c']]],
  'mv-register': [['set', ['a']], ['set', ['b']], ['set', ['c']]],
  'g-set': [['add', ['a']], ['add', ['b']], ['add', ['c']]],
  'or-set': [['add', ['a']], ['add', ['b']], ['remove', ['a']]],
  log: [['append', ['a']], ['append', ['b']], ['append', ['c']]],
  'or-map': [['apply', ['f', 'g-counter', 'inc', [1]]], ['apply', ['g', 'or-set', 'add', ['x']]], ['apply', ['f', 'g-counter', 'inc', [2]]]]
}

test('every built-in contract is covered', () => {
  // Not "owned": it wraps the others and needs signed writes (test/core/envelope/ covers it).
  assert.deepEqual(Object.keys(WRITES).sort(), createRegistry().ids().filter(id => id !== 'owned').sort())
})

for (const [id, writes] of Object.entries(WRITES)) {
  test(`${id}: behind names exactly the writes the peer lacks, oldest first; equal once it has them; diverged and ahead when it has more`, async () => {
    const a = await open()
    const b = await open()
    const key = `k-${id}`
    for (const [op, args] of writes) await a.store.update(key, id, op, args)
    const log = await a.store.deltaLog(key)
    assert.equal(log.length, 3)
    const ids = log.map(l => formatWriteId(a.store.replica, l.seq))

    // A peer that does not keep the key; one that keeps it and holds nothing yet lacks all three.
    let c = await compare(a.src, await readLocal(a.src, key), (await ask(a.src, { ...b.src, keeps: () => false }, key)).state)
    assert.deepEqual(c, { state: 'not_kept', missing: [], unidentified: 0 })
    c = await compare(a.src, await readLocal(a.src, key), (await ask(a.src, b.src, key)).state)
    assert.equal(c.state, 'behind')
    assert.deepEqual(c.missing, ids)
    assert.equal(c.unidentified, 0)

    // B gets the first write only.
    await b.store.mergeRemote(key, id, log[0].delta, 'A')
    const answer = await ask(a.src, b.src, key)
    c = await compare(a.src, await readLocal(a.src, key), answer.state)
    assert.equal(c.state, 'behind', JSON.stringify(c))
    // A later write may overwrite an earlier one (a register): then holding the later is holding the earlier.
    assert.deepEqual(c.missing, ids.slice(1), `${id}: B lacks writes 2 and 3`)
    assert.equal(c.unidentified, 0)
    assert.equal(answer.state.kind === 'kept' && answer.state.hasMore, false, 'B has nothing A lacks')
    // The same from B's side: A is ahead.
    const back = await compare(b.src, await readLocal(b.src, key), (await ask(b.src, a.src, key)).state)
    assert.equal(back.state, 'ahead')

    // A write from a third replica that B lacks and A holds: A cannot name it, so it is unidentified.
    const third = await open()
    await third.store.update(key, id, ...writes[0])
    await a.store.mergeRemote(key, id, (await third.store.deltaLog(key))[0].delta, 'C')
    c = await compare(a.src, await readLocal(a.src, key), (await ask(a.src, b.src, key)).state)
    assert.equal(c.state, 'behind')
    assert.equal(c.unidentified, 1, `${id}: a write of another replica that B lacks is counted`)

    // B writes something of its own: diverged (a last-writer register's newest write overwrites all A has: ahead).
    await b.store.update(key, id, ...writes[1])
    c = await compare(a.src, await readLocal(a.src, key), (await ask(a.src, b.src, key)).state)
    assert.equal(c.state, id === 'lww-register' ? 'ahead' : 'diverged')

    // Both exchange everything: equal.
    const toB = await a.store.deltaFor(key, (await b.store.summary(key))!.summary)
    const toA = await b.store.deltaFor(key, (await a.store.summary(key))!.summary)
    if (toB !== undefined) await b.store.mergeRemote(key, id, toB.delta, 'A')
    if (toA !== undefined) await a.store.mergeRemote(key, id, toA.delta, 'B')
    c = await compare(a.src, await readLocal(a.src, key), (await ask(a.src, b.src, key)).state)
    assert.deepEqual(c, { state: 'equal', missing: [], unidentified: 0 })
  })

  test(`${id}: a holder of a write is one whose summary leaves its delta empty`, async () => {
    const a = await open()
    const b = await open()
    const key = `h-${id}`
    for (const [op, args] of writes) await a.store.update(key, id, op, args)
    const log = await a.store.deltaLog(key)
    await b.store.mergeRemote(key, id, log[0].delta, 'A')
    const contract = createRegistry().resolveBound({ id })
    const sb = (await b.store.summary(key))!.summary
    assert.equal(holdsWrite(contract, log[0].delta, sb), true)
    assert.equal(holdsWrite(contract, log[2].delta, sb), false)
    assert.equal(holdsWrite(contract, log[2].delta, (await a.store.summary(key))!.summary), true)
    assert.equal(holdsWrite(contract, log[0].delta, 'not a summary'), undefined, 'a summary the contract refuses: unknown')
  })
}

test('a peer lacking the key\'s contract says so; a trace finds the writer\'s delta, or says it is too old', async () => {
  const a = await open()
  const poor = new ContractRegistry() // no contracts at all
  const b = await open(poor)
  b.src.lacking = () => 'g-counter'
  const c = await compare(a.src, await readLocal(a.src, 'k'), (await ask(a.src, b.src, 'k')).state)
  assert.deepEqual(c, { state: 'lacks_contract', missing: [], unidentified: null, contract: 'g-counter' })

  const w = await open()
  for (let i = 0; i < 3; i++) await w.store.update('t', 'g-counter', 'inc', [1])
  const reader = await open()
  const logged = await ask(reader.src, w.src, 't', formatWriteId(w.store.replica, 2))
  assert.equal(logged.replica, w.store.replica)
  assert.equal(logged.written?.status, 'logged')
  assert.ok(logged.written?.status === 'logged' && logged.written.delta !== undefined)
  const unknown = await ask(reader.src, w.src, 't', formatWriteId(w.store.replica, 9))
  assert.deepEqual(unknown.written, { status: 'unknown' })
  const other = await ask(reader.src, w.src, 't', 'someone-else/1')
  assert.equal(other.written, undefined, 'only the writer reports its delta log')

  // A writer whose delta log keeps 2 writes: the first of 3 is too old.
  const small = await ReplicaStore.open({ storage: await LevelStorage.open(folders.next()), registry: createRegistry(), deltaLogLimit: 2 })
  stores.push(small)
  for (let i = 0; i < 3; i++) await small.update('t', 'g-counter', 'inc', [1])
  const smallSrc: InspectSource = { ...w.src, replica: small.replica, summary: async k => await small.summary(k), deltaFor: async (k, s) => await small.deltaFor(k, s), deltaLog: async k => await small.deltaLog(k) }
  assert.deepEqual((await ask(reader.src, smallSrc, 't', formatWriteId(small.replica, 1))).written, { status: 'too_old' })
})

test('the answer carries the journal\'s arrival of a traced write and the last refusal of the asker\'s data', async () => {
  const a = await open()
  const b = await open()
  await a.store.update('j', 'g-counter', 'inc', [1])
  const write = formatWriteId(a.store.replica, 1)
  b.journal.record({ kind: 'refused', key: 'j', peer: 'asker-peer', path: 'push', reason: 'invalid', message: 'a forged count' }, 1000)
  b.journal.record({ kind: 'merged', key: 'j', peer: 'asker-peer', path: 'repair', writes: [write], changed: true, bytes: 20 }, 2000)
  b.journal.record({ kind: 'merged', key: 'j', peer: 'other', path: 'push', writes: [write], changed: false, bytes: 20 }, 3000)
  const answer = await ask(a.src, b.src, 'j', write)
  assert.deepEqual(answer.arrival, { at: 2000, path: 'repair', from: 'asker-peer', exact: true }, 'the first arrival the journal remembers')
  assert.deepEqual(answer.refused, { at: 1000, reason: 'invalid', message: 'a forged count' })
  assert.deepEqual(answer.received, { at: 2000, path: 'repair' }, 'its newest record of the key from the asker')
  const none = await ask(a.src, b.src, 'j', formatWriteId(a.store.replica, 7))
  assert.equal(none.arrival, undefined)

  // A repair carries no write ids: the first merge that changed the key after the write was made (the
  // writer's journal says when: the question carries it) is named, marked inexact.
  const w2 = formatWriteId(a.store.replica, 2)
  a.journal.record({ kind: 'written', key: 'j', peer: 'self', path: 'local', writes: [w2], bytes: 10 }, 5000)
  b.journal.record({ kind: 'merged', key: 'j', peer: 'p1', path: 'push', writes: [], changed: true, bytes: 20 }, 4000)
  b.journal.record({ kind: 'merged', key: 'j', peer: 'p2', path: 'repair', writes: [], changed: false, bytes: 20 }, 6000)
  b.journal.record({ kind: 'merged', key: 'j', peer: 'p3', path: 'repair', writes: [], changed: true, bytes: 20 }, 7000)
  b.journal.record({ kind: 'merged', key: 'j', peer: 'p4', path: 'push', writes: [], changed: true, bytes: 20 }, 8000)
  const inferred = await ask(a.src, b.src, 'j', w2)
  assert.deepEqual(inferred.arrival, { at: 7000, path: 'repair', from: 'p3', exact: false })
  // Asked by a peer that did not write it (no time known): only an exact record counts.
  const reader = await open()
  assert.equal((await ask(reader.src, b.src, 'j', w2)).arrival, undefined)
})

test('a summary too large to send is left out; the comparison says what it could not tell', async () => {
  const a = await open()
  const b = await open()
  await a.store.update('big', 'g-counter', 'inc', [1])
  await b.store.mergeRemote('big', 'g-counter', (await a.store.deltaLog('big'))[0].delta, 'A')
  await b.store.update('big', 'g-counter', 'inc', [1])
  // B's summary, as far as the answer goes, is over the cap (its real one is used to compare).
  const huge = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`replica-${i}-${'r'.repeat(20)}`, i]))
  const answer = await ask(a.src, { ...b.src, summary: async () => ({ contract: { id: 'g-counter' }, summary: huge }) }, 'big')
  assert.ok(answer.state.kind === 'kept' && answer.state.tooLarge && answer.state.summary === undefined)
  assert.equal(answer.state.kind === 'kept' && answer.state.hasMore, true, 'B still tells from A\'s summary that it holds more')
  const c = await compare(a.src, await readLocal(a.src, 'big'), answer.state)
  assert.equal(c.state, 'ahead')
  assert.equal(c.unidentified, null)
  assert.match(c.note ?? '', /too large/)
})
