// Peers kept in DIR/peers across restarts, redialed with backoff; peer health; connect and forget at runtime.
// Real nodes: LevelDB on disk, libp2p over TCP on 127.0.0.1.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Logger } from '../../node/logger.ts'
import type { MonoidbNode, PeerHealthInfo } from '../../node/node.ts'
import { PeerAddressError } from '../../node/peer-address.ts'
import { PeerBook } from '../../node/peer-book.ts'
import { nodeFixtures, until } from '../helpers/node-fixtures.ts'

const fx = await nodeFixtures('peer-book')
const servers: Server[] = []
const stoppers: Array<() => Promise<void>> = []
after(async () => {
  for (const s of servers) s.close()
  for (const stop of stoppers) await stop().catch(() => {})
  await fx.cleanup()
})

async function rawPeer () {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  stoppers.push(async () => { await node.stop() })
  return node
}

interface Line { level: string, fields: Record<string, unknown>, msg: string }
function captureLog (): Logger & { lines: Line[] } {
  const lines: Line[] = []
  const at = (level: string) => (fields: object, msg: string): void => { lines.push({ level, fields: fields as Record<string, unknown>, msg }) }
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') }
}

async function entry (node: MonoidbNode, peerId: string): Promise<PeerHealthInfo | undefined> {
  return (await node.knownPeers()).find(p => p.peerId === peerId)
}

async function strangerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

/** A port nothing listens on: bound, then closed. */
async function closedPort (): Promise<number> {
  const s = createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as { port: number }
  await new Promise(resolve => s.close(resolve))
  return port
}

test('a peer known while down is listed disconnected with lastSeen, across a restart, and is redialed when it returns', { timeout: 40_000 }, async () => {
  const aDir = fx.folder()
  const bDir = fx.folder()
  let a = await fx.start({ dataDir: aDir, replicateAll: true })
  const b = await fx.start({ dataDir: bDir, replicateAll: true, bootstrap: a.multiaddrs() })
  await until('A and B to connect', async () => (await entry(a, b.peerId))?.connected === true && (await entry(b, a.peerId))?.connected === true, 10_000)
  // Identify brings the addresses B listens on (B dialed A: the connection's own address is a port of B's dialer).
  await until('A to learn B\'s listen address', async () => (await entry(a, b.peerId))!.multiaddrs.includes(b.multiaddrs()[0]), 10_000)

  const live = (await entry(a, b.peerId))!
  assert.equal(live.connected, true)
  assert.equal(typeof live.connectedSince, 'number')
  assert.ok(live.multiaddrs.includes(b.multiaddrs()[0]), `A lists B's listen address ${b.multiaddrs()[0]}: ${live.multiaddrs.join(' ')}`)
  // Both replicate every key and hold none: equal digests once each heard the other's.
  await until('A to see B in sync', async () => (await entry(a, b.peerId))?.inSync === true, 10_000)
  await until('B to answer a ping', async () => typeof (await entry(a, b.peerId))?.rttMs === 'number', 15_000)

  // A stamped write from B gives A a sample of B's clock.
  await b.update('peer-book/stamped', 'lww-register', 'set', [1])
  await until('A to estimate B\'s clock skew', async () => typeof (await entry(a, b.peerId))?.clockSkewMs === 'number', 10_000)

  const bPort = b.multiaddrs()[0]
  await b.stop()
  const stoppedAt = Date.now()
  await until('A to see B leave', async () => (await entry(a, b.peerId))?.connected === false, 10_000)
  const gone = (await entry(a, b.peerId))!
  assert.equal(gone.rttMs, null)
  assert.equal(gone.connectedSince, null)
  assert.ok(gone.lastSeen !== null && gone.lastSeen <= Date.now() && gone.lastSeen >= stoppedAt - 5_000, `lastSeen ${gone.lastSeen}, stopped at ${stoppedAt}`)

  // A restarts knowing B only from DIR/peers: B is listed, not connected, with when it was last seen.
  await a.stop()
  const aLog = captureLog()
  a = await fx.start({ dataDir: aDir, replicateAll: true, log: aLog })
  const known = await entry(a, b.peerId)
  assert.ok(known !== undefined, `A still knows B after its restart: ${JSON.stringify(await a.knownPeers())}`)
  assert.equal(known.connected, false)
  assert.ok(known.lastSeen !== null && known.lastSeen >= gone.lastSeen! - 1, `lastSeen kept: ${known.lastSeen} vs ${gone.lastSeen}`)
  assert.ok(known.multiaddrs.includes(bPort), `B's address kept: ${known.multiaddrs.join(' ')}`)
  // A redials B at start: B is down, so the dial fails and says so.
  await until('A\'s dial of B to fail', async () => (await entry(a, b.peerId))?.lastDialError !== null, 15_000)
  assert.ok(aLog.lines.some(l => l.msg === 'dial failed' && l.fields.peer === b.peerId), 'the failed dial is logged')

  // B returns (no bootstrap list, its port reused): A's redial, or B's own from DIR/peers, reconnects them.
  const b2 = await fx.start({ dataDir: bDir, replicateAll: true, log: captureLog() })
  assert.equal(b2.multiaddrs()[0], bPort, 'a listen port given as 0 takes the last run\'s port when it is free')
  await until('A and B to reconnect', async () => (await entry(a, b2.peerId))?.connected === true, 40_000)
  assert.ok(aLog.lines.some(l => l.msg === 'peer connected' && l.fields.peer === b2.peerId), 'the connection is logged')
})

test('an unreachable bootstrap peer shows its lastDialError, is logged, and is retried with growing waits', { timeout: 30_000 }, async () => {
  const id = await strangerId()
  const addr = `/ip4/127.0.0.1/tcp/${await closedPort()}/p2p/${id}`
  const log = captureLog()
  const node = await fx.start({ bootstrap: [addr], log })
  await until('the first failed dial', async () => (await entry(node, id))?.lastDialError !== null, 10_000)
  const e = (await entry(node, id))!
  assert.equal(e.connected, false)
  assert.equal(e.lastSeen, null, 'never seen')
  assert.match(e.lastDialError!.message, /ECONNREFUSED/)
  assert.ok(Math.abs(e.lastDialError!.at - Date.now()) < 15_000)
  await until('three failed dials', () => log.lines.filter(l => l.msg === 'dial failed').length >= 3, 20_000)
  const waits = log.lines.filter(l => l.msg === 'dial failed').map(l => l.fields.retryInMs as number)
  assert.ok(log.lines.filter(l => l.msg === 'dial failed').every(l => l.fields.peer === id && l.fields.bootstrap === true))
  // Doubling with ±20% jitter: each wait is more than the one before.
  assert.ok(waits[1] > waits[0] && waits[2] > waits[1], `waits grow: ${waits.join(', ')}`)
})

test('connect adds a peer at runtime and forget drops it; bad addresses are refused naming what is wrong', { timeout: 30_000 }, async () => {
  const a = await fx.start({ log: captureLog() })
  await assert.rejects(a.connect('not a multiaddr'), (err: Error) => err instanceof PeerAddressError && /is not a multiaddr/.test(err.message))
  await assert.rejects(a.connect('/ip4/127.0.0.1/tcp/4001'), (err: Error) => err instanceof PeerAddressError && /must end with \/p2p\/<peer id>/.test(err.message))
  await assert.rejects(a.connect(a.multiaddrs()[0]), (err: Error) => err instanceof PeerAddressError && /own peer id/.test(err.message))
  assert.deepEqual(await a.knownPeers(), [], 'refused addresses change nothing')

  // A bare libp2p peer: it never dials A itself, so only A's own dials can connect them.
  const c = await rawPeer()
  const cAddr = c.getMultiaddrs()[0].toString()
  const cId = c.peerId.toString()
  const added = await a.connect(cAddr)
  assert.equal(added.peerId, cId)
  assert.equal(added.connected, true)
  assert.ok(added.multiaddrs.includes(cAddr), added.multiaddrs.join(' '))

  const unreachable = `/ip4/127.0.0.1/tcp/${await closedPort()}/p2p/${await strangerId()}`
  const failed = await a.connect(unreachable)
  assert.equal(failed.connected, false)
  assert.match(failed.lastDialError?.message ?? '', /ECONNREFUSED/, 'an unreachable peer is added, with why it could not be reached')

  assert.equal(await a.forget(await strangerId()), false, 'an unknown peer')
  await assert.rejects(a.forget('nope'), (err: Error) => err instanceof PeerAddressError && /not a libp2p peer id/.test(err.message))
  assert.equal(await a.forget(cId), true)
  assert.equal(await entry(a, cId), undefined, 'forgotten')
  assert.ok(!a.peers().some(p => p.peerId === cId), 'hung up')
  assert.equal(c.getConnections().length, 0, 'C saw the hang-up')
  // An added peer that drops is redialed within about a second: a forgotten one is not.
  await new Promise(resolve => setTimeout(resolve, 2_500))
  assert.ok(!a.peers().some(p => p.peerId === cId), 'not redialed')
  assert.equal(await entry(a, cId), undefined)

  // Added again, it is dialed again.
  const again = await a.connect(cAddr)
  assert.equal(again.connected, true, JSON.stringify(again))
})

test('the book keeps at most maxKnown peers: the least recently seen that is not connected goes, from the peer store too', { timeout: 30_000 }, async () => {
  const host = await rawPeer()
  const book = new PeerBook(host, { log: captureLog(), maxKnown: 3 })
  await book.start()
  stoppers.unshift(async () => { await book.stop() })
  const visitors: string[] = []
  for (let i = 0; i < 5; i++) {
    const v = await rawPeer()
    const id = v.peerId.toString()
    await v.dial(host.getMultiaddrs()[0])
    await until(`visitor ${i} to be seen`, () => book.state(id)?.connectedSince !== undefined)
    await until(`visitor ${i}'s addresses to be stored`, async () => (await book.known()).find(k => k.peerId === id)?.stored?.addresses.length !== 0)
    await v.hangUp(host.peerId)
    await until(`visitor ${i} to leave`, () => book.state(id)?.connectedSince === undefined)
    visitors.push(id)
    await new Promise(resolve => setTimeout(resolve, 5)) // distinct lastSeen
  }
  assert.deepEqual(visitors.map(v => book.state(v) !== undefined), [false, false, true, true, true], 'the two seen longest ago are dropped')
  await until('the peer store to drop them too', async () => {
    const known = (await book.known()).map(k => k.peerId).sort()
    return JSON.stringify(known) === JSON.stringify(visitors.slice(2).sort())
  })
})

test('a DIR/peers that will not open is logged, and the node runs with peers in memory', { timeout: 20_000 }, async () => {
  const dir = fx.folder()
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'peers'), 'not a LevelDB folder')
  const log = captureLog()
  const a = await fx.start({ dataDir: dir, log })
  assert.ok(log.lines.some(l => l.level === 'warn' && /cannot open the peer store/.test(l.msg) && l.fields.path === join(dir, 'peers')), JSON.stringify(log.lines))
  const b = await fx.start({ bootstrap: a.multiaddrs() })
  await until('A to list B', async () => (await entry(a, b.peerId))?.connected === true)
  assert.equal(await readFile(join(dir, 'peers'), 'utf8'), 'not a LevelDB folder', 'left as it was')
})
