// A mixed network during a rolling upgrade (PROTOCOL.md §3.1): a peer before type 9 (here a bare libp2p
// node subscribed to the three version-2 topics only) is never sent a writes push, and gets each write
// as a type-1 push instead; between newer peers, pushes go once, as writes pushes.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { type Message, decodeMessage } from '../../core/sync/messages.ts'
import { DIGEST_TOPIC, PUSH_TOPIC, WANT_TOPIC, WRITES_TOPIC } from '../../core/sync/types.ts'
import { allHold, hasSubscribedPeer, nodeFixtures, until } from '../helpers/node-fixtures.ts'

const fx = await nodeFixtures('writes-topic')
const stoppers: Array<() => Promise<void>> = []
after(async () => {
  await Promise.allSettled(stoppers.map(async s => { await s() }))
  await fx.cleanup()
})

test('an older peer gets a type-1 copy of each push on the push topic and nothing on the writes topic; newer peers get one writes push', { timeout: 30_000 }, async () => {
  const a = await fx.start({})
  const b = await fx.start({ replicateAll: true, bootstrap: a.multiaddrs() })
  await until('A and B to hear each other', () => hasSubscribedPeer(a, b) && hasSubscribedPeer(b, a))

  // Newer peers only: one writes push, no type-1 copy.
  const first = await a.update('k1', 'g-counter', 'inc', [1])
  await until('B to hold k1', async () => await allHold([b], 'k1', 1), 10_000)
  await new Promise(resolve => setTimeout(resolve, 300)) // a type-1 copy, if one were sent, would have come too
  assert.equal(b.stats().sync.perType.writes.messagesReceived, 1)
  assert.equal(b.stats().sync.perType.push.messagesReceived, 0, 'no type-1 copy while every peer hears the writes topic')

  // An older peer joins: it subscribes to the version-2 topics, not to the writes topic.
  const old = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
  })
  stoppers.push(async () => { await old.stop() })
  const heard: Array<{ topic: string, msg: Message }> = []
  old.services.pubsub.addEventListener('message', evt => {
    heard.push({ topic: evt.detail.topic, msg: decodeMessage(evt.detail.data) })
  })
  for (const t of [PUSH_TOPIC, DIGEST_TOPIC, WANT_TOPIC]) old.services.pubsub.subscribe(t)
  await old.dial(multiaddr(a.multiaddrs()[0]))
  await until('A to see the older peer on the push topic', () => a.peers().some(p => p.peerId === old.peerId.toString() && p.subscribed), 10_000)

  const second = await a.update('k2', 'g-counter', 'inc', [2])
  await until('the older peer to get the push', () => heard.some(h => h.msg.type === 'push' && h.msg.items.some(i => i.key === 'k2')), 10_000)
  assert.ok(heard.every(h => h.topic !== WRITES_TOPIC && h.msg.type !== 'writes'), `never a writes push: ${heard.map(h => h.msg.type).join(', ')}`)
  const push = heard.find(h => h.msg.type === 'push')!
  assert.equal(push.topic, PUSH_TOPIC)
  await until('B to hold k2', async () => await allHold([b], 'k2', 2), 10_000)
  // B, newer, hears the writes push (with the id) and the type-1 copy (redundant by content hash).
  await until('B to journal the id', () => b.journal.query({ key: 'k2' }).some(r => r.kind === 'merged' && r.changed && r.writes[0] === second.write))
  await until('B to get the type-1 copy too', () => b.stats().sync.perType.push.messagesReceived === 1)
  assert.equal(first.write, `${a.replica}/1`)
})

test('A(new)—B(new)—OLD: B republishes A\'s writes pushes as type 1 for the older peer it neighbours, each once', { timeout: 60_000 }, async () => {
  // Anti-entropy every 10 minutes: only pushes can bring A's write to OLD within the test.
  const a = await fx.start({ sync: { antiEntropyMs: 600_000 } })
  const b = await fx.start({ replicateAll: true, bootstrap: a.multiaddrs(), sync: { antiEntropyMs: 600_000 } })
  await until('A and B to hear each other', () => hasSubscribedPeer(a, b) && hasSubscribedPeer(b, a))
  const old = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) } })
  stoppers.push(async () => { await old.stop() })
  const heard: Array<{ key: string, from: string }> = []
  old.services.pubsub.addEventListener('message', evt => {
    const d = evt.detail
    if (d.type !== 'signed') return
    const m = decodeMessage(d.data)
    if (m.type === 'push') heard.push(...m.items.map(i => ({ key: i.key, from: d.from.toString() })))
  })
  for (const t of [PUSH_TOPIC, DIGEST_TOPIC, WANT_TOPIC]) old.services.pubsub.subscribe(t)
  await old.dial(multiaddr(b.multiaddrs()[0]))
  await until('B to see the older peer subscribed', () => b.peers().some(p => p.peerId === old.peerId.toString() && p.subscribed), 10_000)
  assert.ok(!a.peers().some(p => p.peerId === old.peerId.toString()), 'the older peer is not A\'s neighbour')
  // Control: B's own write reaches it (B's neighbour is older: B publishes a type-1 copy).
  await b.update('kb', 'g-counter', 'inc', [1])
  await until('the older peer to hear B\'s push', () => heard.some(h => h.key === 'kb'), 15_000)
  await a.update('ka', 'g-counter', 'inc', [1])
  await until('the older peer to hear A\'s write by push, through B', () => heard.some(h => h.key === 'ka'), 15_000)
  await until('B to hold ka', async () => await allHold([b], 'ka', 1), 10_000)
  assert.ok(heard.some(h => h.key === 'ka' && h.from === b.peerId), 'B published the type-1 copy')
  await new Promise(resolve => setTimeout(resolve, 1000))
  assert.equal(heard.filter(h => h.key === 'ka' && h.from === b.peerId).length, 1, 'once')
})
