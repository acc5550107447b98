// Peer health on real daemons: A restarts on a new port (its old one taken by another program) and B finds it
// again, learns its new address and gets its writes, with logs that say what happened; the peer list survives
// a restart; `monoidb connect` / `monoidb forget` with their errors; an unreachable bootstrap shows its dial error.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createServer, type Server, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DEFAULT_SYNC_CONFIG } from '../../core/sync/engine.ts'
import type { PeerHealthInfo } from '../../node/client.ts'
import { REDIAL_FIRST_MS } from '../../node/peer-book.ts'
import { type DaemonProcess, daemonFixtures, untilMeshed } from '../helpers/daemon-fixtures.ts'
import { until } from '../helpers/node-fixtures.ts'

const CLI = fileURLToPath(new URL('../../node/cli.ts', import.meta.url))
/** Slack for a loaded 2-core machine on top of the bound the design promises (README "Peers"). */
const SLACK_MS = 4_000

const fx = await daemonFixtures('peers')
const servers: Server[] = []
const sockets: Socket[] = []
let a: DaemonProcess
let b: DaemonProcess
before(async () => {
  a = await fx.start()
  b = await fx.start({ bootstrap: [a.info.multiaddrs[0]] })
  await untilMeshed([a, b], 15_000)
}, { timeout: 40_000 })
after(async () => {
  for (const s of sockets) s.destroy()
  for (const s of servers) s.close()
  await fx.cleanup()
})

async function entry (d: DaemonProcess, peerId: string): Promise<PeerHealthInfo | undefined> {
  return (await d.client.peers()).find(p => p.peerId === peerId)
}

/** The daemon's log lines (pino JSON on stdout) with this message about this peer. */
function logged (d: DaemonProcess, msg: string, peer: string): Array<Record<string, unknown>> {
  const stdout = d.output().slice('stdout: '.length).split('\nstderr: ')[0]
  const out: Array<Record<string, unknown>> = []
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const rec = JSON.parse(line) as Record<string, unknown>
      if (rec.msg === msg && rec.peer === peer) out.push(rec)
    } catch {}
  }
  return out
}

/** Takes the port for another program: accepts connections and never answers. */
async function occupy (port: number): Promise<void> {
  const server = createServer(s => { sockets.push(s); s.on('error', () => {}) })
  servers.push(server)
  await until(`port ${port} to be free for the squatter`, async () => await new Promise<boolean>(resolve => {
    server.once('error', () => { resolve(false) })
    server.listen(port, '127.0.0.1', () => { resolve(true) })
  }), 10_000)
}

async function cli (...args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
}

async function strangerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

async function closedPort (): Promise<number> {
  const s = createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as { port: number }
  await new Promise(resolve => s.close(resolve))
  return port
}

test('A restarts on a new port, its old one taken: B finds it again, lists its new address, gets its writes; the logs say so', { timeout: 90_000 }, async t => {
  const key = 'e2e/peers/counter'
  await a.client.update(key, 'g-counter', 'inc', [1])
  assert.equal((await b.client.get(key, { wait: 10_000 })).value, 1, 'B keeps the key from now on')

  const oldAddr = a.info.multiaddrs[0]
  const oldPort = Number(/\/tcp\/(\d+)\//.exec(oldAddr)![1])
  assert.equal(await a.stop(), 0)
  await occupy(oldPort)
  await until('B to see A gone', async () => (await entry(b, a.info.peerId))?.connected === false, 10_000)
  const down = (await entry(b, a.info.peerId))!
  assert.equal(typeof down.lastSeen, 'number')

  a = await fx.start({ dir: a.dir }) // no bootstrap list: A knows B from its data folder
  const restartedAt = Date.now()
  const newAddr = a.info.multiaddrs[0]
  assert.notEqual(newAddr, oldAddr, 'A could not have its old port')
  const bound = DEFAULT_SYNC_CONFIG.antiEntropyMs + REDIAL_FIRST_MS
  await until('B to list A connected at its new address', async () => {
    const e = await entry(b, a.info.peerId)
    return e?.connected === true && e.subscribed && e.multiaddrs.includes(newAddr)
  }, bound + SLACK_MS + 10_000)
  const foundMs = Date.now() - restartedAt
  t.diagnostic(`B found A again ${foundMs} ms after A was ready (bound: ${bound} ms + ${SLACK_MS} ms slack)`)
  assert.ok(foundMs <= bound + SLACK_MS, `found within one anti-entropy period plus the redial delay: ${foundMs} ms`)
  const listed = (await entry(b, a.info.peerId))!
  assert.ok(!listed.multiaddrs.includes(oldAddr), `the old address is dropped: ${listed.multiaddrs.join(' ')}`)

  await a.client.update(key, 'g-counter', 'inc', [1])
  await until('A\'s new write to reach B', async () => (await b.client.get(key)).value === 2, 10_000)

  // What the logs say: A could not have its port back and connected to B; B lost A, got it back, and learned where it is.
  assert.match(a.output(), new RegExp(`listen port ${oldPort} of the last run is taken`), a.output())
  assert.ok(logged(a, 'peer connected', b.info.peerId).length > 0, a.output())
  assert.ok(logged(b, 'peer disconnected', a.info.peerId).length > 0, b.output())
  assert.ok(logged(b, 'peer connected', a.info.peerId).length >= 2, b.output())
  const moved = logged(b, 'peer addresses changed', a.info.peerId)
  assert.ok(moved.some(r => (r.multiaddrs as string[]).some(m => newAddr.startsWith(m + '/p2p/'))), `B logs A's new address: ${JSON.stringify(moved)}`)
})

test('the peer list survives a restart; connect and forget from the CLI, with their errors', { timeout: 90_000 }, async () => {
  assert.equal(await b.stop(), 0)
  await a.stop()
  a = await fx.start({ dir: a.dir })
  const known = await entry(a, b.info.peerId)
  assert.ok(known !== undefined, `A knows B after a restart while B is down: ${JSON.stringify(await a.client.peers())}`)
  assert.equal(known.connected, false)
  assert.ok(typeof known.lastSeen === 'number' && known.lastSeen <= Date.now(), `lastSeen ${known.lastSeen}`)

  const c = await fx.start()
  const data = ['--data', a.dir]
  const added = await cli('connect', c.info.multiaddrs[0], ...data)
  assert.equal(added.code, 0, added.stderr)
  const peer = JSON.parse(added.stdout) as PeerHealthInfo
  assert.equal(peer.peerId, c.info.peerId)
  assert.equal(peer.connected, true)

  for (const [args, message] of [
    [['connect', 'nonsense'], /MULTIADDR "nonsense" is not a multiaddr/],
    [['connect', '/ip4/127.0.0.1/tcp/7421'], /must end with \/p2p\/<peer id>/],
    [['connect'], /connect needs MULTIADDR/],
    [['forget', 'nope'], /PEER: "nope" is not a libp2p peer id/],
    [['forget'], /forget needs PEER/]
  ] as const) {
    const r = await cli(...args, ...data)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, message)
  }
  const stranger = await strangerId()
  const unknown = await cli('forget', stranger, ...data)
  assert.equal(unknown.code, 1)
  assert.match(unknown.stderr, new RegExp(`monoidb: not_found: this daemon knows no peer ${stranger}`))

  // C stops first, or it would redial A, which would then know it again.
  assert.equal(await c.stop(), 0)
  const forgotten = await cli('forget', c.info.peerId, ...data)
  assert.equal(forgotten.code, 0, forgotten.stderr)
  assert.deepEqual(JSON.parse(forgotten.stdout), { peerId: c.info.peerId, forgotten: true })
  assert.equal(await entry(a, c.info.peerId), undefined)
  assert.ok((await entry(a, b.info.peerId)) !== undefined, 'only that peer')
})

test('an unreachable bootstrap peer is logged and listed with its lastDialError', { timeout: 60_000 }, async () => {
  const id = await strangerId()
  const d = await fx.start({ bootstrap: [`/ip4/127.0.0.1/tcp/${await closedPort()}/p2p/${id}`] })
  await until('the failed dial to show', async () => (await entry(d, id))?.lastDialError != null, 15_000)
  const e = (await entry(d, id))!
  assert.equal(e.connected, false)
  assert.match(e.lastDialError!.message, /ECONNREFUSED/)
  const shown = await cli('peers', '--data', d.dir)
  assert.equal(shown.code, 0, shown.stderr)
  assert.match((JSON.parse(shown.stdout) as PeerHealthInfo[]).find(p => p.peerId === id)?.lastDialError?.message ?? '', /ECONNREFUSED/)
  const lines = logged(d, 'dial failed', id)
  assert.ok(lines.length > 0 && lines[0].bootstrap === true && typeof lines[0].retryInMs === 'number', d.output())
})
