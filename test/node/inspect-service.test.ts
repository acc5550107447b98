// The inspection service without a network: its gossip check, answering each question once within the
// asker's byte budget (a real SyncEngine's), and the bound on inspections waiting at once.
import assert from 'node:assert/strict'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { after, test } from 'node:test'
import { encode } from '../../core/codec.ts'
import { LevelStorage } from '../../core/level-storage.ts'
import { ReplicaStore } from '../../core/replica-store.ts'
import { SyncEngine } from '../../core/sync/engine.ts'
import { type Inspected, decodeInspectMessage, encodeInspectMessage } from '../../core/sync/inspect-messages.ts'
import type { InspectSource } from '../../core/sync/inspection.ts'
import { Journal } from '../../core/sync/journal.ts'
import { createRegistry } from '../../contracts/index.ts'
import { InspectBusyError, InspectService, MAX_PENDING } from '../../node/inspect-service.ts'
import { until } from '../helpers/node-fixtures.ts'
import { tempFolders } from '../helpers/store-fixtures.ts'

const folders = await tempFolders('inspect-service')
const store = await ReplicaStore.open({ storage: await LevelStorage.open(folders.next()), registry: createRegistry() })
after(async () => { await store.close(); await folders.remove() })
await store.update('k', 'g-counter', 'inc', [1])
const registry = createRegistry()
const source: InspectSource = {
  replica: store.replica,
  summary: async k => await store.summary(k),
  deltaFor: async (k, s) => await store.deltaFor(k, s),
  deltaLog: async k => await store.deltaLog(k),
  resolve: b => registry.resolveBound(b),
  keeps: () => true,
  lacking: () => undefined,
  journal: new Journal()
}

function service (charge: (peer: string, bytes: number) => boolean = () => true): { s: InspectService, sent: Uint8Array[] } {
  const sent: Uint8Array[] = []
  const s = new InspectService({ self: 'me', source, publish: b => { sent.push(b) }, charge, connected: () => [] })
  return { s, sent }
}
const question = (n: number): Uint8Array => encodeInspectMessage({ type: 'inspect', qid: new Uint8Array(8).fill(n), key: 'k' })

test('gossip accepts what decodes, rejects garbage (the sender loses score), ignores another version', () => {
  const { s } = service()
  assert.equal(s.check(question(1)), TopicValidatorResult.Accept)
  assert.equal(s.check(new Uint8Array([1, 2, 3])), TopicValidatorResult.Reject)
  assert.equal(s.check(encode([3, 1, [], []])), TopicValidatorResult.Reject, 'a sync message is no inspection message')
  assert.equal(s.check(encode([4, 10, new Uint8Array(8), 'k', null, null, null])), TopicValidatorResult.Ignore)
})

test('a question is answered once per asker and query id, to the asker', async () => {
  const { s, sent } = service()
  s.message('asker', question(1))
  s.message('asker', question(1)) // the same question again (republished): not answered again
  s.message('other', question(1)) // another asker's question with the same id: answered
  await until('two answers', () => sent.length === 2)
  await new Promise(resolve => setTimeout(resolve, 100))
  assert.equal(sent.length, 2)
  const answers = sent.map(b => decodeInspectMessage(b) as Inspected)
  assert.deepEqual(answers.map(a => a.to).sort(), ['asker', 'other'])
  assert.equal(answers[0].state.kind, 'kept')
  s.message('me', question(2)) // our own question, relayed back: ignored
  await new Promise(resolve => setTimeout(resolve, 100))
  assert.equal(sent.length, 2)
})

test('answers are charged to the asker\'s byte budget: once it is spent, questions go unanswered and are counted against it', async () => {
  const engine = await SyncEngine.create(store, { self: 'me', now: Date.now(), config: { peerBytesPerSec: 300 } })
  try {
    const { s, sent } = service((peer, bytes) => engine.limits.chargeAnswer(peer, bytes, Date.now()))
    for (let i = 0; i < 10; i++) s.message('greedy', question(10 + i))
    await until('all ten handled', () => s.stats.answered + s.stats.refused === 10)
    assert.ok(s.stats.answered >= 1 && s.stats.answered <= 4, `answered ${s.stats.answered} of 10 within 300 bytes a second`)
    assert.equal(sent.length, s.stats.answered)
    assert.ok(engine.stats().requestsRefused >= 6)
    assert.ok(engine.peerCosts().greedy.refused.bytes >= 6, 'counted against the asker')
    // Another asker is not affected.
    s.message('polite', question(99))
    await until('the polite asker answered', () => sent.some(b => (decodeInspectMessage(b) as Inspected).to === 'polite'))
  } finally {
    engine.close()
  }
})

test(`at most ${MAX_PENDING} inspections wait for answers at once; the next is refused as busy`, async () => {
  const { s } = service()
  const waiting = Array.from({ length: MAX_PENDING }, async () => await s.inspect('k', 300))
  await assert.rejects(s.inspect('k', 300), InspectBusyError)
  const reports = await Promise.all(waiting)
  assert.equal(reports[0].local.replica, store.replica)
  assert.equal((await s.inspect('k', 0)).key, 'k', 'once they ended, inspections are taken again')
})

test('the inspect topic is allowed and scored like the sync topics (rejected messages cost their sender)', async () => {
  const { gossipOptions, SYNC_TOPICS } = await import('../../node/gossip-config.ts')
  const { INSPECT_TOPIC } = await import('../../core/sync/inspect-messages.ts')
  const o = gossipOptions()
  assert.ok((o.allowedTopics as string[]).includes(INSPECT_TOPIC))
  assert.deepEqual(o.scoreParams?.topics?.[INSPECT_TOPIC], o.scoreParams?.topics?.[SYNC_TOPICS[0]])
  assert.ok(!(SYNC_TOPICS as readonly string[]).includes(INSPECT_TOPIC), 'not a sync topic: a peer without it still counts as subscribed')
})
