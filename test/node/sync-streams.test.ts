// The sync stream against a hostile peer over real libp2p on loopback (a node with LevelDB on disk, and a
// plain libp2p peer built like the daemon's host): bad frames (an 11-byte length prefix, a length over
// MAX_WIRE_BYTES, bytes that are no message) are counted against the peer and reset its stream; after
// MAX_STRIKES it is hung up on and its new connections are refused; a flood of whole-store requests is refused past the
// peer's limits, counted, and lowers its gossipsub score. The length decoder itself is checked first.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { encodeMessage } from '../../core/sync/messages.ts'
import { gossipOptions } from '../../node/gossip-config.ts'
import type { MonoidbNode } from '../../node/node.ts'
import { BadLengthPrefixError, MAX_LENGTH_BYTES, MAX_STRIKES, SYNC_PROTOCOL, decodeLength } from '../../node/sync-streams.ts'
import { nodeFixtures, until } from '../helpers/node-fixtures.ts'
import { costlyDeltas } from '../helpers/hostile-messages.ts'

const fx = await nodeFixtures('sync-streams')
const peers: Libp2p[] = []
after(async () => {
  await Promise.allSettled(peers.map(async p => await p.stop()))
  await fx.cleanup()
})

test('length prefixes: shortest form, at most MAX_LENGTH_BYTES; incomplete ones ask for more', () => {
  assert.equal(MAX_LENGTH_BYTES, 3)
  assert.equal(decodeLength(Uint8Array.of(0x17)), 23)
  assert.equal(decodeLength(Uint8Array.of(0x80, 0x01)), 128)
  assert.equal(decodeLength(Uint8Array.of(0x80, 0x80, 0x41)), 0x41 << 14)
  assert.throws(() => decodeLength(Uint8Array.of(0x80, 0x80)), RangeError, 'incomplete: lpStream reads on')
  assert.throws(() => decodeLength(Uint8Array.of(0x80, 0x80, 0x80)), BadLengthPrefixError)
  assert.throws(() => decodeLength(new Uint8Array(11).fill(0x80)), BadLengthPrefixError)
  assert.throws(() => decodeLength(Uint8Array.of(0x81, 0x00)), /not its shortest form/)
})

/** A plain libp2p peer (tcp, noise, yamux, identify, gossipsub as the daemon runs it), dialled to `target`. */
async function hostile (target: MonoidbNode): Promise<Libp2p> {
  const p = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub(gossipOptions()) }
  })
  peers.push(p)
  await p.handle(SYNC_PROTOCOL, stream => { stream.addEventListener('message', () => {}) }, { maxInboundStreams: 16 })
  await p.dial(multiaddr(target.multiaddrs()[0]))
  return p
}

async function open (p: Libp2p, target: MonoidbNode): Promise<Stream> {
  return await p.dialProtocol(multiaddr(target.multiaddrs()[0]), SYNC_PROTOCOL)
}

/** Resolves once the stream is closed or reset by either side (fails after 5 s). */
async function closed (stream: Stream, what: string): Promise<void> {
  await until(what, () => stream.status !== 'open', 5_000)
}

test('bad frames reset their stream and count against the peer; after three it is hung up on and its connections refused', { timeout: 40_000 }, async () => {
  const node = await fx.start({ replicateAll: true })
  const evil = await hostile(node)
  const host = (): ReturnType<MonoidbNode['stats']>['host'] => node.stats().host

  // 1. An 11-byte length prefix: the usual decoder waits for more bytes forever, counting nothing.
  const s1 = await open(evil, node)
  s1.send(new Uint8Array(11).fill(0x80))
  await closed(s1, 'the stream with an 11-byte length prefix to close')
  assert.equal(host().framesRefused, 1)

  // 2. Bytes that frame well but are no message: the engine counts them, and the stream is reset too.
  const s2 = await open(evil, node)
  s2.send(Uint8Array.of(3, 0xff, 0x00, 0x13))
  await closed(s2, 'the stream with an undecodable message to close')
  assert.equal(host().framesRefused, 2)
  assert.equal(node.stats().sync.badMessages, 1)
  assert.equal(node.stats().peers[evil.peerId.toString()]?.badMessages, 1)

  // 3. A length over MAX_WIRE_BYTES: the third strike.
  const s3 = await open(evil, node)
  s3.send(Uint8Array.of(0xff, 0xff, 0x7f))
  await closed(s3, 'the stream announcing 2 MiB to close')
  assert.equal(host().framesRefused, MAX_STRIKES)

  // Now the peer is banned: hung up on, and its new connections refused (so no stream of it is read).
  const id = evil.peerId.toString()
  await until('the node to hang up on the peer with three strikes', () => !node.peers().some(p => p.peerId === id), 5_000)
  const before = node.stats().sync.messagesReceived
  const s4: Stream | Error = await open(evil, node).catch((err: Error) => err)
  if (!(s4 instanceof Error)) s4.abort(new Error('test'))
  assert.ok(s4 instanceof Error, 'a banned peer opened a new connection and stream')
  assert.ok(!node.peers().some(p => p.peerId === id), 'the banned peer is connected again')
  assert.equal(node.stats().sync.messagesReceived, before, 'nothing read from a banned peer')
})

test('a flood of whole-store requests under fresh session ids: refused past the peer\'s limits, counted, score lowered', { timeout: 40_000 }, async () => {
  const node = await fx.start({ replicateAll: true, sync: { antiEntropyMs: 300, sessionTimeoutMs: 2_000, peerBytesPerSec: 64 * 1024, maxMessageBytes: 16 * 1024 } })
  for (let i = 0; i < 100; i++) await node.update(`k${String(i).padStart(3, '0')}`, 'or-set', 'add', [`${i}`.padEnd(2_000, 'x')])
  const evil = await hostile(node)
  const id = evil.peerId.toString()
  await until('the node to see the hostile peer in gossipsub', () => node.gossipScore(id) >= 0 && node.peers().some(p => p.peerId === id), 5_000)
  const stream = await open(evil, node)
  let n = 500
  const request = (): Uint8Array => encodeMessage({ type: 'ranges', sid: { n: n++, fromInitiator: true }, seq: 0, fps: [{ lo: '', hi: null, count: 0, fp: new Uint8Array(4) }], items: [], sums: [] })
  const flooding = (async () => {
    for (let i = 0; i < 300 && stream.status === 'open'; i++) {
      const r = request()
      stream.send(Uint8Array.of(r.length, ...r))
      await new Promise(resolve => setTimeout(resolve, 5))
    }
  })()
  await until('the flooder\'s score to fall', () => node.gossipScore(id) < 0, 15_000)
  await flooding
  const s = node.stats()
  assert.ok(s.sync.requestsRefused > 100, `refused ${s.sync.requestsRefused} of 300`)
  const cost = s.peers[id]
  assert.ok(cost !== undefined && cost.refused.bytes + cost.refused.sessions > 100, JSON.stringify(cost))
  assert.ok(cost.bytesCharged <= 64 * 1024 * 4 + 16 * 1024 + 1024, `sent the flooder ${cost.bytesCharged} bytes in about 2 s at 64 KiB/s`)
  assert.equal(s.host.framesRefused, 0, 'good frames are no bad frames')
  // The stream stays open unless the peer went past 100 session refusals in 10 s: then it is banned (node/refusal-bans.ts).
  assert.equal(stream.status === 'open' ? 0 : 1, s.host.refusalBans, `stream ${stream.status}, ${s.host.refusalBans} bans`)
})

test('a session message carrying a state its contract refuses is charged to its sender as a bad frame', { timeout: 40_000 }, async () => {
  const node = await fx.start({ replicateAll: true })
  const evil = await hostile(node)
  const id = evil.peerId.toString()
  const deltas = encodeMessage({ type: 'deltas', sid: { n: 7, fromInitiator: true }, seq: 0, check: false, items: [{ key: 'forged', contract: { id: 'g-counter' }, delta: [['evil', 0]] }] })
  const s = await open(evil, node)
  s.send(Uint8Array.of(...lengthPrefix(deltas.length), ...deltas))
  await closed(s, 'the stream carrying an invalid state to be reset')
  assert.equal(node.stats().host.framesRefused, 1)
  assert.equal(node.stats().sync.rejectedDeltas, 1)
  assert.equal(node.stats().peers[id]?.badMessages, 1)
  assert.equal(await node.get('forged'), undefined, 'the invalid state was merged')
})

function lengthPrefix (n: number): number[] {
  const out: number[] = []
  do { out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n >>>= 7 } while (n > 0)
  return out
}

test('a large frame refused before is refused unread when sent again', { timeout: 40_000 }, async () => {
  const node = await fx.start({ replicateAll: true })
  const evil = await hostile(node)
  const deltas = costlyDeltas(20_000, 'forged-set')
  assert.ok(deltas.length > 16 * 1024 && deltas.length <= 20_000)
  for (const n of [1, 2]) {
    const s = await open(evil, node)
    s.send(Uint8Array.of(...lengthPrefix(deltas.length), ...deltas))
    await closed(s, `the stream carrying the invalid state (${n}) to be reset`)
    assert.equal(node.stats().host.framesRefused, n)
  }
  assert.equal(node.stats().sync.rejectedDeltas, 1, 'the replayed frame was decoded and validated again')
  assert.equal(node.stats().sync.messagesReceived, 1)
})

test('a peer banned again soon after its ban ended is banned twice as long', { timeout: 40_000 }, async () => {
  const BAN_MS = 2_000
  const node = await fx.start({ replicateAll: true, limits: { peerStrikes: 1, peerBanMs: BAN_MS } })
  const evil = await hostile(node)
  const id = evil.peerId.toString()
  const strike = async (): Promise<number> => {
    const t0 = Date.now()
    const s = await open(evil, node)
    s.send(Uint8Array.of(3, 0xff, 0x00, 0x13))
    await until('the ban', () => node.bans().some(b => b.peer === id), 5_000)
    return node.bans().find(b => b.peer === id)!.until - t0
  }
  const first = await strike()
  assert.ok(first <= BAN_MS + 1_000, `the first ban lasts ${first} ms`)
  await until('the first ban to end', () => !node.bans().some(b => b.peer === id), 10_000)
  await until('the peer to connect again', async () => { await evil.dial(multiaddr(node.multiaddrs()[0])).catch(() => {}); return node.peers().some(p => p.peerId === id) }, 10_000)
  const second = await strike()
  assert.ok(second >= 1.5 * BAN_MS, `the second ban lasts ${second} ms, not about ${2 * BAN_MS}`)
})
