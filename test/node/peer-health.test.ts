// inSync in the peer list: true when the peer's last digest equals ours, false while they differ, null when
// digests cannot be compared (a partial peer and a replicate-all one). Real nodes over TCP on 127.0.0.1.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import type { MonoidbNode, PeerHealthInfo } from '../../node/node.ts'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { maxRegister } from '../fixtures/max-register.ts'
import { TEST_SYNC, allHold, nodeFixtures, until } from '../helpers/node-fixtures.ts'

const fx = await nodeFixtures('peer-health')
const PING = '/ipfs/ping/1.0.0'
after(async () => { await fx.cleanup() })

async function entry (node: MonoidbNode, peerId: string): Promise<PeerHealthInfo | undefined> {
  return (await node.knownPeers()).find(p => p.peerId === peerId)
}

test('replicate-all peers: in sync once equal, not while one holds a key the other cannot merge', { timeout: 30_000 }, async () => {
  const a = await fx.start({ replicateAll: true })
  const b = await fx.start({ replicateAll: true, contracts: [maxRegister], bootstrap: a.multiaddrs() })
  await until('A and B in sync', async () => (await entry(a, b.peerId))?.inSync === true && (await entry(b, a.peerId))?.inSync === true, 10_000)

  await b.update('both', 'g-counter', 'inc', [1])
  await until('A to hold B\'s write', async () => await allHold([a], 'both', 1))
  await until('in sync again', async () => (await entry(a, b.peerId))?.inSync === true && (await entry(b, a.peerId))?.inSync === true, 10_000)

  // A lacks max-register: it never holds this key, so the digests differ for good.
  await b.update('only-b', 'max-register', 'set', [3])
  await until('A to see B differ', async () => (await entry(a, b.peerId))?.inSync === false, 10_000)
  await until('B to see A differ', async () => (await entry(b, a.peerId))?.inSync === false, 10_000)
  await new Promise(resolve => setTimeout(resolve, 4 * TEST_SYNC.antiEntropyMs))
  assert.equal((await entry(a, b.peerId))?.inSync, false, 'still differs after several periods')
})

test('a partial peer and a replicate-all one: inSync is null both ways; two partial peers keeping the same keys are in sync', { timeout: 30_000 }, async () => {
  const full = await fx.start({ replicateAll: true })
  const p1 = await fx.start({ bootstrap: full.multiaddrs() })
  await until('P1 and the full peer to connect', async () => (await entry(full, p1.peerId))?.connected === true && (await entry(p1, full.peerId))?.connected === true, 10_000)
  await p1.update('k', 'g-counter', 'inc', [1])
  const p2 = await fx.start({ bootstrap: p1.multiaddrs() })
  assert.equal((await p2.fetch('k', 10_000))?.value, 1, 'P2 keeps k too')
  await until('P1 and P2 in sync', async () => (await entry(p1, p2.peerId))?.inSync === true && (await entry(p2, p1.peerId))?.inSync === true, 10_000)
  // Several periods of digests have passed both ways by now: still nothing to compare with the full peer.
  await new Promise(resolve => setTimeout(resolve, 3 * TEST_SYNC.antiEntropyMs))
  assert.equal((await entry(p1, full.peerId))?.inSync, null)
  assert.equal((await entry(full, p1.peerId))?.inSync, null)
})

test('a connection stays up across rounds of pings, with a peer slow to take up a ping stream', { timeout: 60_000 }, async () => {
  // libp2p's connection monitor pings every connection every 10 s over /ipfs/ping/1.0.0, which allows one
  // outbound stream per connection, and aborts the connection when its ping fails. Peer health once pinged
  // too, with libp2p's ping service, which sends its bytes and closes its end at once: a peer whose handler
  // starts after both arrived (a busy peer; libp2p awaits the peer store first) misses the close, so our
  // ping stream stayed open until that handler timed out (10 s), and the monitor's next ping, refused as a
  // second outbound ping stream (TooManyOutboundProtocolStreamsError), aborted the connection.
  const a = await fx.start({ replicateAll: true })
  const r = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() }
  })
  after(async () => { await r.stop() })
  // libp2p's own ping handler, taken up 200 ms late.
  const { registrar } = (r as unknown as { components: { registrar: { getHandler(p: string): { handler: StreamHandler, options: StreamHandlerOptions } } } }).components
  const { handler, options } = registrar.getHandler(PING)
  await r.unhandle(PING)
  await r.handle(PING, async (stream, connection) => {
    await new Promise(resolve => setTimeout(resolve, 200))
    await handler(stream, connection)
  }, options)
  await r.dial(multiaddr(a.multiaddrs()[0]))
  const rId = r.peerId.toString()
  await until('A to see R connected', async () => (await entry(a, rId))?.connected === true, 10_000)
  const since = (await entry(a, rId))!.connectedSince
  // Two rounds of A's pings (its timers run from its start), with slack for a slow machine.
  const end = Date.now() + 22_000
  while (Date.now() < end) {
    const onA = await entry(a, rId)
    assert.equal(onA?.connected, true, 'A still connected to R')
    assert.equal(onA?.connectedSince, since, 'A\'s connection to R is the same one (it did not drop and come back)')
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  // The monitor's pings give the round trip.
  assert.equal(typeof (await entry(a, rId))?.rttMs, 'number', 'A knows its round trip to R')
})
