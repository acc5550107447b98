// inSync in the peer list: true when the peer's last digest equals ours, false while they differ, null when
// digests cannot be compared (a partial peer and a replicate-all one). Real nodes over TCP on 127.0.0.1.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import type { MonoidbNode, PeerHealthInfo } from '../../node/node.ts'
import { maxRegister } from '../fixtures/max-register.ts'
import { TEST_SYNC, allHold, nodeFixtures, until } from '../helpers/node-fixtures.ts'

const fx = await nodeFixtures('peer-health')
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
