// A misbehaving peer (a bare libp2p node, none of our code) sends garbage on the gossip topics and on
// /monoidb/sync/1.0.0: each piece is counted and refused, the sender loses score (and is banned at its third
// rejected gossip message), and the node keeps working.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { MAX_GOSSIP_PUSH_BYTES, MAX_WIRE_BYTES, encodeMessage } from '../../core/sync/messages.ts'
import { DIGEST_TOPIC, PUSH_TOPIC } from '../../core/sync/types.ts'
import { SYNC_PROTOCOL } from '../../node/sync-streams.ts'
import type { ContractRegistry } from '../../core/registry.ts'
import { createRegistry } from '../../contracts/index.ts'
import { maxRegister } from '../fixtures/max-register.ts'
import { allHold, hasSubscribedPeer, nodeFixtures, until } from '../helpers/node-fixtures.ts'

const fx = await nodeFixtures('host')
const stoppers: Array<() => Promise<void>> = []
after(async () => {
  for (const stop of stoppers) await stop().catch(() => {})
  await fx.cleanup()
})

async function rawPeer () {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
  })
  stoppers.push(async () => { await node.stop() })
  return node
}

function varint (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return Uint8Array.from(out)
}

const garbage = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff)

test('garbage on the gossip topics and the sync stream is counted and refused; the node keeps working', { timeout: 20_000 }, async () => {
  const a = await fx.start({})
  const b = await fx.start({ bootstrap: a.multiaddrs() })
  await until('A and B to connect', () => b.peers().length === 1)
  const bad = await rawPeer()
  const pubsub = bad.services.pubsub
  for (const topic of [PUSH_TOPIC, DIGEST_TOPIC]) pubsub.subscribe(topic)
  await bad.dial(multiaddr(a.multiaddrs()[0]))
  await until('the bad peer to see A subscribed', () => [PUSH_TOPIC, DIGEST_TOPIC].every(t => pubsub.getSubscribers(t).some(p => p.toString() === a.peerId)))
  const badId = bad.peerId.toString()
  const before = a.stats()

  // Gossip: two pieces of garbage, and a well-formed digest on the push topic (wrong type for it).
  await pubsub.publish(PUSH_TOPIC, garbage(100))
  await pubsub.publish(DIGEST_TOPIC, Uint8Array.of(0xff, 0x00, 0x13))
  await pubsub.publish(PUSH_TOPIC, encodeMessage({ type: 'digest', fp: new Uint8Array(16) }))
  await until('A to reject all three', () => a.stats().host.gossipRejected - before.host.gossipRejected === 3)
  await until('the engine to count the two that are no message at all', () => a.stats().sync.badMessages - before.sync.badMessages === 2)
  await until('the bad peer to lose gossip score on A', () => a.gossipScore(badId) < 0)
  // Three rejected messages delivered within 10 s: A bans the peer (hangs up, refuses it; node/refusal-bans.ts).
  await until('A to ban the bad peer', () => a.bans().some(x => x.peer === badId) && !a.peers().some(p => p.peerId === badId))
  await assert.rejects(bad.dialProtocol(peerIdFromString(a.peerId), SYNC_PROTOCOL), 'a banned peer opened a stream')

  // The sync stream, from another bad peer: a garbage frame (counted by the engine), then a length over MAX_WIRE_BYTES (refused unread).
  const bad2 = await rawPeer()
  await bad2.dial(multiaddr(a.multiaddrs()[0]))
  const stream = await bad2.dialProtocol(peerIdFromString(a.peerId), SYNC_PROTOCOL)
  await lpStream(stream).write(garbage(64))
  await until('the engine to count the garbage frame', () => a.stats().sync.badMessages - before.sync.badMessages === 3)
  const huge = await bad2.dialProtocol(peerIdFromString(a.peerId), SYNC_PROTOCOL)
  huge.send(varint(MAX_WIRE_BYTES + 1))
  huge.send(garbage(1024))
  await until('A to refuse the oversized frame', () => a.stats().host.framesRefused - before.host.framesRefused === 1)
  await until('A to reset that stream', () => huge.status !== 'open')

  // Nothing was forwarded to B, and A and B still replicate both ways.
  assert.equal(b.stats().sync.badMessages, 0)
  await b.update('after', 'pn-counter', 'inc', [2])
  await a.update('after', 'pn-counter', 'dec', [1])
  await until('A and B to converge after the attack', async () => await allHold([a, b], 'after', 1))
  assert.equal(a.stats().binding.errors, 0)
})

test('a change near the 1 MiB limit is not gossiped (pushes stop at 64 KiB): it reaches peers by sessions over the sync stream', { timeout: 15_000 }, async () => {
  const a = await fx.start({})
  const b = await fx.start({ replicateAll: true, bootstrap: a.multiaddrs() })
  await until('A to see B subscribed', () => hasSubscribedPeer(a, b))
  const big = 'x'.repeat(1_000_000)
  await a.update('big', 'lww-register', 'set', [big])
  await until('B to hold the big value', async () => await allHold([b], 'big', big))
  assert.equal(a.stats().sync.sessionOnlyItems, 1, 'A left the big change to sessions')
  const { push, writes } = b.stats().sync.perType
  assert.ok(push.bytesReceived + writes.bytesReceived < MAX_GOSSIP_PUSH_BYTES, 'no push carried it')
  assert.ok(b.stats().sync.perType.deltas.bytesReceived > 1_000_000, 'a session did')

  // C joins later: only a session can bring it the value, as one deltas message over the stream.
  const c = await fx.start({ replicateAll: true, bootstrap: a.multiaddrs() })
  await until('C to catch up on the big value', async () => await allHold([c], 'big', big))
  assert.ok(c.stats().sync.perType.deltas.bytesReceived > 1_000_000)
  assert.equal(a.stats().sync.oversizeItems, 0)
  for (const node of [a, b, c]) assert.equal(node.stats().host.framesRefused, 0)
})

test('a forged push whose state its contract refuses is rejected at the first hop: its sender loses score, no other peer gets it', { timeout: 30_000 }, async () => {
  // bad ── B ── C, in a line: what reaches C from the bad peer went through B.
  const b = await fx.start({ replicateAll: true })
  const c = await fx.start({ replicateAll: true, bootstrap: b.multiaddrs() })
  await until('B and C to see each other subscribed', () => hasSubscribedPeer(b, c) && hasSubscribedPeer(c, b))
  const bad = await rawPeer()
  const pubsub = bad.services.pubsub
  pubsub.subscribe(PUSH_TOPIC)
  await bad.dial(multiaddr(b.multiaddrs()[0]))
  await until('the bad peer to see B subscribed', () => pubsub.getSubscribers(PUSH_TOPIC).some(p => p.toString() === b.peerId))
  const badId = bad.peerId.toString()
  const counter = (n: number, last: number) => Array.from({ length: n }, (_, i) => [`r${String(i).padStart(5, '0')}`, i === n - 1 ? last : 1])
  const push = (key: string, state: unknown) => encodeMessage({ type: 'push', items: [{ key, contract: { id: 'g-counter' }, delta: state as never }] })

  // A valid push goes through B to C: forwarding works on this line.
  await pubsub.publish(PUSH_TOPIC, push('first', counter(3, 1)))
  await until('C to hold the first key, through B', async () => await allHold([c], 'first', 3), 10_000)

  // A push over 64 KiB is ignored by B, unread and without penalty (a peer before the limit could send it).
  const large = push('large', counter(9_000, 1))
  assert.ok(large.length > MAX_GOSSIP_PUSH_BYTES, `${large.length} bytes`)
  await pubsub.publish(PUSH_TOPIC, large)
  await until('B to ignore the large push', () => b.stats().host.largePushes === 1)
  assert.deepEqual(b.journal.query({ key: '' }).filter(r => r.kind === 'refused').map(r => r.kind === 'refused' ? [r.peer, r.reason] : []), [[badId, 'oversize']], 'journaled unread, with no key')
  assert.ok(b.gossipScore(badId) >= 0, `score ${b.gossipScore(badId)} after an ignored push`)

  // The forged push: 4,000 entries to validate, the last of them invalid (a count of 0).
  const forged = push('forged', counter(4_000, 0))
  assert.ok(forged.length < MAX_GOSSIP_PUSH_BYTES)
  await pubsub.publish(PUSH_TOPIC, forged)
  await until('B to reject the forged push', () => b.stats().host.invalidPushes === 1)
  await until('the bad peer to lose gossip score on B', () => b.gossipScore(badId) < 0)
  // B's journal says so, naming the key and the author, though no engine saw it.
  const refusals = b.journal.query({ key: 'forged' })
  assert.deepEqual(refusals.map(r => r.kind === 'refused' ? [r.peer, r.path, r.reason] : [r.kind]), [[badId, 'push', 'invalid']])

  // A valid push after it still goes through: once C holds it, C would have had the forged one before it.
  await pubsub.publish(PUSH_TOPIC, push('after', counter(2, 1)))
  await until('C to hold the key pushed after the forged one', async () => await allHold([c], 'after', 2), 10_000)
  for (const node of [b, c]) {
    assert.equal(node.stats().sync.rejectedDeltas, 0, 'no engine validated the forged state')
    assert.equal(await node.get('forged'), undefined)
    assert.equal(await node.get('large'), undefined)
  }
  assert.equal(c.stats().sync.perType.push.messagesReceived, 2, 'C got the two valid pushes and nothing else')
  assert.equal(c.stats().host.gossipRejected, 0)
})

test('a push with an or-map field of a contract one peer lacks costs its sender nothing there; peers that have the contract merge it; a forged one is not forwarded by the peer that cannot judge it', { timeout: 40_000 }, async () => {
  const withFoo = (): ContractRegistry => { const r = createRegistry(); r.register(maxRegister, { trusted: true }); return r }
  // A and C have max-register, B does not; A, B and C all meet, and a bad peer reaches only B.
  const a = await fx.start({ replicateAll: true, registry: withFoo() })
  const b = await fx.start({ replicateAll: true, bootstrap: a.multiaddrs() })
  const c = await fx.start({ replicateAll: true, registry: withFoo(), bootstrap: [...a.multiaddrs(), ...b.multiaddrs()] })
  await until('A, B and C to see each other subscribed', () => hasSubscribedPeer(a, b) && hasSubscribedPeer(a, c) && hasSubscribedPeer(b, c) && hasSubscribedPeer(c, b), 10_000)

  // Honest writes: or-map writes B cannot judge (two rejections would graylist A on B), and a key B can.
  await a.update('m', 'or-map', 'apply', ['f', 'max-register', 'set', [5]])
  await a.update('m', 'or-map', 'apply', ['f', 'max-register', 'set', [7]])
  await a.update('plain', 'g-counter', 'inc', [3])
  await until('C to merge the or-map field B lacks', async () => await allHold([c], 'm', { f: 7 }), 10_000)
  await until('B to merge the key it can judge', async () => await allHold([b], 'plain', 3), 10_000)
  await until('B to have checked the or-map pushes (refused or ignored)', () => b.stats().host.gossipRejected >= 1, 10_000)
  assert.equal(b.stats().host.invalidPushes, 0, 'B did not call them invalid')
  assert.ok(b.gossipScore(a.peerId) >= 0, `A's score on B is ${b.gossipScore(a.peerId)}`)
  await until('B to count the or-map pushes as of a contract it lacks', () => b.stats().host.unjudgedPushes >= 1 && b.unknownContractOf('m') === 'max-register', 10_000)
  assert.ok(b.stats().sync.unknownContracts.byId['max-register'] >= 1, 'counted under the nested contract')
  assert.equal(await b.get('m'), undefined, 'not merged where it cannot be judged')

  // A forged push of max-register (a state it refuses) sent to B: B cannot judge it, so does not forward it;
  // had it, C and A would reject it and charge B, the peer that delivered it.
  const bad = await rawPeer()
  const pubsub = bad.services.pubsub
  pubsub.subscribe(PUSH_TOPIC)
  await bad.dial(multiaddr(b.multiaddrs()[0]))
  await until('the bad peer to see B subscribed', () => pubsub.getSubscribers(PUSH_TOPIC).some(p => p.toString() === b.peerId), 10_000)
  const unjudgedBefore = b.stats().host.unjudgedPushes
  await pubsub.publish(PUSH_TOPIC, encodeMessage({ type: 'push', items: [{ key: 'forged', contract: { id: 'max-register' }, delta: 'not a number' as never }] }))
  await until('B to ignore the forged push', () => b.stats().host.unjudgedPushes === unjudgedBefore + 1, 10_000)
  // A valid push after it goes through B: once A and C hold it, they would have had the forged one before it.
  await pubsub.publish(PUSH_TOPIC, encodeMessage({ type: 'push', items: [{ key: 'after', contract: { id: 'g-counter' }, delta: [['r1', 2]] as never }] }))
  await until('A and C to hold the key pushed after the forged one, through B', async () => await allHold([a, c], 'after', 2), 10_000)
  for (const node of [a, c]) {
    assert.equal(node.stats().host.invalidPushes, 0, 'the forged push never reached a peer that has the contract')
    assert.ok(node.gossipScore(b.peerId) >= 0, `B's score is ${node.gossipScore(b.peerId)}`)
    assert.equal(await node.get('forged'), undefined)
  }
  assert.ok(b.gossipScore(bad.peerId.toString()) >= 0, 'nor was the bad peer charged by B, which cannot judge it')
})
