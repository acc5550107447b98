// One received message's owned keys share one budget of signature verifies (core/sync/merger.ts,
// core/envelope/validate.ts MAX_MESSAGE_VERIFIES): a message cannot cost more, and what it could not
// verify arrives with a resend, as the verified signatures are remembered (review F3).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ReplicaStore } from '../../../core/replica-store.ts'
import { MemoryStorage } from '../../../core/storage.ts'
import { laneOf, parsePublicKey, writerReplica } from '../../../core/envelope/index.ts'
import { entryBytes, paramsHash } from '../../../core/envelope/signed-bytes.ts'
import { clearVerifyCache, verifyStats } from '../../../core/envelope/signing.ts'
import { MAX_MESSAGE_VERIFIES } from '../../../core/envelope/validate.ts'
import type { DeltaItem } from '../../../core/sync/messages.ts'
import { DeltaMerger } from '../../../core/sync/merger.ts'
import { emptyStats } from '../../../core/sync/stats.ts'
import { SummaryHistory } from '../../../core/sync/summary-history.ts'
import { keys, ownedFor, registry } from '../envelope/owned-fixtures.ts'

const bob = parsePublicKey(keys.bob.publicKey)

/** Key `key`'s delta: bob's block of `n` signed +1 entries. */
function item (key: string, n: number): DeltaItem {
  const c = ownedFor('g-counter', key)
  const ph = paramsHash(c.params!)
  const lane = laneOf('bob-store')
  const entries = []
  for (let i = 1; i <= n; i++) {
    const body = [[writerReplica(bob, lane, 0), i]]
    entries.push([i, body, keys.bob.sign(entryBytes(ph, bob.slice(0, 8), 0, lane, i, body as never))])
  }
  return { key, contract: { id: 'owned', params: c.params! }, delta: { a: [], w: [[bob.slice(0, 8), 0, lane, [], entries]] } as never }
}

test(`a message's owned keys share ${MAX_MESSAGE_VERIFIES} uncached verifies; the rest arrive when sent again`, async () => {
  const store = await ReplicaStore.open({ storage: new MemoryStorage(), registry, replica: 'aaaaaaaaaaaaaaaaaaaaaaaa' })
  try {
    const merger = new DeltaMerger(store, new SummaryHistory(), emptyStats())
    // Refused for now is not invalid: an honest peer's large state must not cost it a bad frame (review R1).
    const charged: string[] = []
    merger.onInvalid = peer => { charged.push(peer) }
    const per = Math.floor(MAX_MESSAGE_VERIFIES / 2.5) // under the per-state cap (256); two keys fit the message's budget, three do not
    const items = ['k1', 'k2', 'k3'].map(k => item(k, per))
    clearVerifyCache()
    const before = verifyStats.checks - verifyStats.hits
    const changed = await merger.merge('peer-x', items, { path: 'repair', bytes: 0 })
    const spent = verifyStats.checks - verifyStats.hits - before
    assert.ok(spent <= MAX_MESSAGE_VERIFIES + 1, `one message cost ${spent} verifies`)
    assert.equal(changed, 2, 'two keys fit the message\'s budget, the third is refused for now')
    const held = async (): Promise<string[]> => (await Promise.all(['k1', 'k2', 'k3'].map(async k => (await store.get(k)) === undefined ? '' : k))).filter(k => k !== '')
    assert.equal((await held()).length, 2)
    assert.deepEqual(charged, [], 'the sender of an honest state over the verify budget was charged as if it were invalid')
    // The session sends it again: the verified part is remembered, and the key arrives.
    assert.equal(await merger.merge('peer-x', items, { path: 'repair', bytes: 0 }), 1)
    assert.deepEqual(await held(), ['k1', 'k2', 'k3'])
    assert.equal((await store.get('k3'))!.value, per)
  } finally {
    await store.close()
  }
})
