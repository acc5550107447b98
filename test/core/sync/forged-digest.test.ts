// Issue 11 §2: key sets built so that version 2's XOR digest (and a sum mod 2^128) calls two different key
// spaces equal. The accumulator digest tells them apart, and two real SyncEngines reconcile them, including
// when every range fingerprint a session compares matches too (the salted fallback, PROTOCOL.md §6.5).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { encode } from '../../../core/codec.ts'
import { itemHash, sameHash } from '../../../core/sync/key-index.ts'
import { decodeMessage } from '../../../core/sync/messages.ts'
import { CONTRACT, counter, sumDigest, xorCollision, xorDigest } from './collisions.ts'
import { type Envelope, Net, type Peer, stateBytes } from './harness.ts'

const noPushes = { drop: (e: Envelope) => e.type === 'push' || e.type === 'writes' }
const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `k${String(i).padStart(5, '0')}`)

/** The digest a peer announces. */
function digestOf (p: Peer, now: number): Uint8Array {
  const m = decodeMessage(p.engine.subscribed('', now)[0].bytes)
  assert.equal(m.type, 'digest')
  return m.fp
}

/** Item hashes of every key a peer's store holds, read from the store. */
async function itemHashes (p: Peer): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for (const key of await p.store.keys()) {
    const s = (await p.store.summary(key))!
    out.push(itemHash(key, s.contract, s.summary))
  }
  return out
}

/** Two peers: p0 holds every key at `a(key)`, p1 at `b(key)`; nothing in flight. */
async function twoPeers (keys: readonly string[], a: (k: string) => number, b: (k: string) => number, seed: number): Promise<Net> {
  const net = await Net.create(2, { seed })
  const [p0, p1] = net.peers
  await p0.store.mergeRemoteMany(keys.map(key => ({ key, contract: CONTRACT, delta: counter(a(key)), origin: 'w' })))
  await p1.store.mergeRemoteMany(keys.map(key => ({ key, contract: CONTRACT, delta: counter(b(key)), origin: 'w' })))
  net.queue.length = 0
  return net
}

/** Every key at its larger state on both peers. */
async function assertJoined (net: Net, keys: readonly string[], a: (k: string) => number, b: (k: string) => number): Promise<void> {
  for (const p of net.peers) {
    const states = await stateBytes(p)
    assert.equal(states.size, keys.length)
    for (const key of keys) assert.equal(states.get(key), Buffer.from(encode(['g-counter', null, counter(Math.max(a(key), b(key)))])).toString('hex'), `${p.id} ${key}`)
  }
}

test('an XOR-colliding key set: the old digest calls the peers equal, the new one does not, and they converge', async () => {
  const keys = names(160)
  const { subset } = xorCollision(keys, 140)
  assert.ok(subset.size > 0 && subset.size < keys.length)
  const a = (): number => 1
  const b = (k: string): number => subset.has(k) ? 2 : 1
  const net = await twoPeers(keys, a, b, 11)
  const [p0, p1] = net.peers
  // The key spaces differ, yet the version-2 digest (XOR of item hashes) is the same on both.
  assert.ok(sameHash(xorDigest(await itemHashes(p0)), xorDigest(await itemHashes(p1))), 'the XOR digests should collide')
  assert.ok(!sameHash(digestOf(p0, net.now), digestOf(p1, net.now)), 'the accumulator digests must differ')
  const rounds = await net.converge(6, noPushes)
  assert.ok(rounds >= 1)
  await assertJoined(net, keys, a, b)
  assert.ok(sameHash(digestOf(p0, net.now), digestOf(p1, net.now)))
})

test('an XOR collision inside every range a session compares: ranges all match, the salted fallback finds the keys', async () => {
  // The opening splits the key space into 16 ranges of 130 keys; the colliding subset lies in the first, so
  // every range fingerprint (count and XOR) matches on both sides, in every 4-byte window sessions carry.
  const keys = names(16 * 130)
  const { subset } = xorCollision(keys, 130)
  const a = (): number => 1
  const b = (k: string): number => subset.has(k) ? 2 : 1
  const net = await twoPeers(keys, a, b, 12)
  const [p0, p1] = net.peers
  assert.ok(sameHash(xorDigest(await itemHashes(p0)), xorDigest(await itemHashes(p1))))
  assert.ok(!sameHash(digestOf(p0, net.now), digestOf(p1, net.now)))
  // The first sessions find nothing: every range they compare matches.
  const completed = (): number => net.peers.reduce((n, p) => n + p.engine.stats().sessionsCompleted, 0)
  for (let t = 0; t < 40 && completed() === 0; t++) {
    await net.advance(100)
    await net.deliver(noPushes)
  }
  assert.ok(completed() >= 1, 'digests differ: a session runs')
  assert.equal(net.delivered.filter(e => e.type === 'deltas' || e.type === 'sums').length, 0, 'ranges matched, nothing was exchanged')
  // Sessions that found nothing while the digests differed: a later one opens with salted item hashes, and they converge.
  await net.converge(6, noPushes)
  await assertJoined(net, keys, a, b)
  const salted = net.peers.reduce((n, p) => n + p.engine.stats().perType.salted.messagesSent, 0)
  assert.ok(salted >= 1, 'converged without the salted fallback?')
  const saltedBytes = net.delivered.filter(e => e.type === 'salted').reduce((n, e) => n + e.bytes.length, 0)
  assert.ok(saltedBytes < keys.length * 20, `salted lists cost ${saltedBytes} bytes for ${keys.length} keys`)
})

test('a sum-colliding key set (fixture): equal sums of item hashes mod 2^128, different digests, and they converge', async () => {
  const fixture = JSON.parse(readFileSync(new URL('../../fixtures/sum-collision.json', import.meta.url), 'utf8')) as { keys: string[], a: number[], b: number[] }
  const { keys } = fixture
  const at = (states: number[]) => (k: string): number => states[keys.indexOf(k)]
  const a = at(fixture.a)
  const b = at(fixture.b)
  assert.ok(keys.some(k => a(k) !== b(k)), 'the fixture holds two different key spaces')
  const net = await twoPeers(keys, a, b, 13)
  const [p0, p1] = net.peers
  assert.equal(sumDigest(await itemHashes(p0)), sumDigest(await itemHashes(p1)), 'the sums of item hashes should collide')
  assert.ok(!sameHash(digestOf(p0, net.now), digestOf(p1, net.now)), 'the accumulator digests must differ')
  await net.converge(6, noPushes)
  await assertJoined(net, keys, a, b)
})

test('a version-2 message is refused as bad_version, counted, and merges nothing', async () => {
  const net = await Net.create(2, { seed: 14 })
  const [, p1] = net.peers
  const v2push = encode([2, 1, ['g-counter'], [0, 'k', [['w', 5]]]])
  const v2digest = encode([2, 2, new Uint8Array(16)])
  for (const bytes of [v2push, v2digest]) assert.deepEqual(await p1.engine.receive('p0', bytes, net.now), [])
  assert.equal(p1.engine.stats().badMessages, 2)
  assert.equal(p1.engine.stats().deltasReceived, 0)
  assert.equal((await stateBytes(p1)).size, 0)
  assert.ok(p1.engine.peerCosts().p0 !== undefined, 'the refusals are charged to the sender')
})
