// What one peer can make the inspection service do, and what it lists and waits for (review of issue 10,
// findings 1, 3 and 8): questions are rate-limited per asker and the delta computed for one is charged to it;
// a question without the asker's summary computes no delta; only peers we know as neighbours are listed as
// no_answer, from one pass over the journal; stop ends the inspections waiting at once.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { encode } from '../../core/codec.ts'
import { LevelStorage } from '../../core/level-storage.ts'
import { ReplicaStore } from '../../core/replica-store.ts'
import { SyncEngine } from '../../core/sync/engine.ts'
import { type Inspected, decodeInspectMessage, encodeInspectMessage } from '../../core/sync/inspect-messages.ts'
import type { InspectSource } from '../../core/sync/inspection.ts'
import { Journal, type JournalQuery } from '../../core/sync/journal.ts'
import { itemHash } from '../../core/sync/key-index.ts'
import { createRegistry } from '../../contracts/index.ts'
import { InspectService, type InspectServiceOptions } from '../../node/inspect-service.ts'
import { until } from '../helpers/node-fixtures.ts'
import { tempFolders } from '../helpers/store-fixtures.ts'

const folders = await tempFolders('inspect-bounds')
const store = await ReplicaStore.open({ storage: await LevelStorage.open(folders.next()), registry: createRegistry() })
after(async () => { await store.close(); await folders.remove() })
// A key whose whole state is large: 2,000 elements of about 40 bytes.
for (let i = 0; i < 20; i++) await Promise.all(Array.from({ length: 100 }, async (_, j) => await store.update('big', 'or-set', 'add', [`element-${i}-${j}-${'x'.repeat(24)}`])))
const registry = createRegistry()
let deltaCalls = 0
const source = (journal = new Journal()): InspectSource => ({
  replica: store.replica,
  summary: async k => await store.summary(k),
  deltaFor: async (k, s) => { deltaCalls++; return await store.deltaFor(k, s) },
  deltaLog: async k => await store.deltaLog(k),
  resolve: b => registry.resolveBound(b),
  keeps: () => true,
  lacking: () => undefined,
  journal
})

function service (o: Partial<InspectServiceOptions> = {}): { s: InspectService, sent: Uint8Array[] } {
  const sent: Uint8Array[] = []
  const s = new InspectService({ self: 'me', source: source(), publish: b => { sent.push(b) }, charge: () => true, connected: () => [], ...o })
  return { s, sent }
}
let n = 0
const question = (key = 'big'): Uint8Array => encodeInspectMessage({ type: 'inspect', qid: new Uint8Array(8).fill(++n % 256).map((b, i) => i === 0 ? n >> 8 : b), key })

test('questions beyond the asker\'s rate are refused and counted against it; another asker is not affected', async () => {
  const engine = await SyncEngine.create(store, { self: 'me', now: Date.now(), config: { antiEntropyMs: 600_000, peerSessionsPerPeriod: 2 } })
  try {
    const { s, sent } = service({ charge: (p, b) => engine.limits.chargeAnswer(p, b, Date.now()), admit: p => engine.limits.admitQuestion(p, Date.now()) })
    for (let i = 0; i < 20; i++) s.message('greedy', question())
    await until('all twenty handled', () => s.stats.answered + s.stats.refused + s.stats.dropped === 20)
    assert.equal(s.stats.answered, 4, `twice peerSessionsPerPeriod at once: ${JSON.stringify(s.stats)}`)
    assert.equal(s.stats.refused, 16)
    assert.equal(engine.peerCosts().greedy.refused.sessions, 16, 'counted against the asker')
    s.message('polite', question())
    await until('the polite asker answered', () => sent.some(b => (decodeInspectMessage(b) as Inspected).to === 'polite'))
  } finally {
    engine.close()
  }
})

test('the delta computed for a question is charged to its asker, not only the question and answer bytes', async () => {
  const held = (await store.summary('big'))!
  const contract = registry.resolveBound(held.contract)
  const empty = contract.summarize(contract.empty()) as never
  const all = encode((await store.deltaFor('big'))!.delta).length
  let charged = 0
  const { s, sent } = service({ charge: (_p, b) => { charged += b; return true } })
  const q = encodeInspectMessage({ type: 'inspect', qid: new Uint8Array(8).fill(200), key: 'big', mine: { contract: held.contract, digest: itemHash('big', held.contract, empty), summary: empty } })
  s.message('asker', q)
  await until('answered', () => sent.length === 1)
  assert.equal((decodeInspectMessage(sent[0]) as Inspected).state.kind, 'kept')
  assert.ok(charged >= all + q.length + sent[0].length, `charged ${charged} bytes; the delta alone is ${all}`)
})

test('a question without the asker\'s summary is answered "holds something" without computing a delta', async () => {
  const { s, sent } = service()
  deltaCalls = 0
  s.message('asker', question('big'))
  s.message('asker', question('nothing-here'))
  await until('answered', () => sent.length === 2)
  const states = sent.map(b => (decodeInspectMessage(b) as Inspected).state)
  const big = states.find(st => st.kind === 'kept' && st.contract !== undefined)
  assert.equal(big?.kind === 'kept' ? big.hasMore : 'none', true)
  assert.equal(deltaCalls, 0, 'no delta was computed')
})

test('no_answer lists connected peers, past answerers and recent session peers, not every journal author, from one pass', async () => {
  let scans = 0
  const journal = new class extends Journal { override query (q?: JournalQuery): ReturnType<Journal['query']> { scans++; return super.query(q) } }(20_000)
  for (let i = 0; i < 80; i++) journal.record({ kind: 'session', key: '', peer: `session-peer-${String(i).padStart(2, '0')}`, keysReceived: 0, keysChanged: 0, keysSent: 0, bytesIn: 0, bytesOut: 0, ok: true }, 1000 + i)
  // Gossip authors: any signing key can be journaled under (an oversize push), so none is listed for that.
  for (let i = 0; i < 10_000; i++) journal.record({ kind: 'refused', key: '', peer: `12D3KooWfake${i}`, path: 'push', reason: 'oversize', message: 'x' }, 5000)
  const s = new InspectService({ self: 'me', source: source(journal), publish: () => {}, charge: () => true, connected: () => ['connected-peer'] })
  scans = 0
  const t0 = performance.now()
  const r = await s.inspect('big', 0)
  const ms = performance.now() - t0
  const ids = r.peers.map(p => p.peerId)
  assert.ok(r.peers.every(p => p.state === 'no_answer'))
  assert.ok(ids.includes('connected-peer'))
  assert.ok(ids.includes('session-peer-79') && ids.includes('session-peer-16'), 'the newest 64 session peers')
  assert.ok(!ids.includes('session-peer-15'), 'older session peers are left out')
  assert.equal(ids.length, 65, `${ids.length} peers listed`)
  assert.equal(r.peers.find(p => p.peerId === 'session-peer-79')?.lastHeard, new Date(1079).toISOString())
  const t = await s.trace('big', `${store.replica}/1`, 0)
  assert.equal(t.peers.length, 66)
  assert.ok(scans <= 12, `${scans} journal scans for one inspect and one trace`)
  console.log(`inspect with a 10,080-record journal: ${ms.toFixed(0)} ms, ${ids.length} no_answer peers`)
})

test('stop ends the inspections waiting for answers at once, as the node being stopped', async () => {
  const { s } = service()
  const t0 = Date.now()
  const waiting = [s.inspect('big', 30_000), s.trace('big', `${store.replica}/1`, 30_000)]
  await new Promise(resolve => setTimeout(resolve, 50))
  // And one stopped while its question is still being read from the store, before its wait begins.
  const early = service().s
  waiting.push(early.inspect('big', 30_000))
  early.stop()
  s.stop()
  const results = await Promise.race([Promise.allSettled(waiting), new Promise<'late'>(resolve => setTimeout(() => resolve('late'), 10_000).unref())])
  assert.notEqual(results, 'late', 'still waiting 10 s after stop')
  for (const r of results as PromiseSettledResult<unknown>[]) {
    assert.equal(r.status, 'rejected')
    assert.match(String((r as PromiseRejectedResult).reason), / is stopped$/, 'the API answers 503 unavailable')
  }
  assert.ok(Date.now() - t0 < 10_000)
})
