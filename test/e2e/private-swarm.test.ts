// Who may connect, on real daemons over TCP: a private swarm (--swarm-key) lets in the daemons with its key and
// no other (a wrong key or none cannot connect, nor learn the peer id); an allow list (--allow-peer) connects with
// the peers it names, refuses others both ways, and does not dial a bootstrap peer it does not name (logged once).
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { type Socket, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type DaemonProcess, daemonFixtures, untilMeshed } from '../helpers/daemon-fixtures.ts'
import { until } from '../helpers/node-fixtures.ts'

const CLI = fileURLToPath(new URL('../../node/cli.ts', import.meta.url))
const fx = await daemonFixtures('swarm')
const keys = await mkdtemp(join(tmpdir(), 'monoidb-access-keys-'))
const sockets: Socket[] = []
let a: DaemonProcess
let b: DaemonProcess
const keyFile = join(keys, 'swarm.key')
const otherKey = join(keys, 'other.key')

async function cli (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    execFile(process.execPath, [CLI, ...args], (err, stdout, stderr) => { resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? -1, stdout, stderr }) })
  })
}

before(async () => {
  for (const f of [keyFile, otherKey]) assert.equal((await cli(['swarm-key', f])).code, 0)
  a = await fx.start({ args: ['--swarm-key', keyFile] })
  b = await fx.start({ args: ['--swarm-key', keyFile], bootstrap: [a.info.multiaddrs[0]] })
  await untilMeshed([a, b], 15_000)
}, { timeout: 40_000 })
after(async () => {
  for (const s of sockets) s.destroy()
  await fx.cleanup()
  await rm(keys, { recursive: true, force: true })
})

/** Runs a daemon that should refuse its flags: its exit code and stderr (killed if it runs on). */
async function daemonExit (args: string[]): Promise<{ code: number | null, stderr: string }> {
  return await new Promise(resolve => {
    execFile(process.execPath, [fileURLToPath(new URL('../../node/daemon.ts', import.meta.url)), '--data', join(keys, 'never'), ...args], { timeout: 15_000, killSignal: 'SIGKILL' }, (err, _out, stderr) => {
      resolve({ code: (err as { code?: number } | null)?.code ?? 0, stderr })
    })
  })
}

/** The daemon's log records (pino JSON lines on stdout) with this message. */
function logged (d: DaemonProcess, msg: string): Array<Record<string, unknown>> {
  const stdout = d.output().slice('stdout: '.length).split('\nstderr: ')[0]
  return stdout.split('\n').filter(l => l.startsWith('{')).map(l => { try { return JSON.parse(l) as Record<string, unknown> } catch { return {} } }).filter(r => r.msg === msg)
}

test('daemons with the same swarm key connect and replicate; one with another key, or none, cannot connect', { timeout: 60_000 }, async () => {
  await a.client.update('swarm-visits', 'g-counter', 'inc', [3])
  await until('B to get A\'s write', async () => (await b.client.get('swarm-visits', { wait: 500 }).catch(() => undefined))?.value === 3, 15_000)

  const wrong = await fx.start({ args: ['--swarm-key', otherKey], bootstrap: [a.info.multiaddrs[0]] })
  const none = await fx.start({ bootstrap: [a.info.multiaddrs[0]] })
  // Both dial A (bootstrap) and fail; each keeps redialing, so give them a few rounds.
  await until('both to record a failed dial of A', async () => {
    for (const d of [wrong, none]) if ((await d.client.peers()).find(p => p.peerId === a.info.peerId)?.lastDialError === undefined) return false
    return true
  }, 15_000)
  await new Promise(resolve => setTimeout(resolve, 2_000))
  for (const [name, d] of [['wrong key', wrong], ['no key', none]] as const) {
    assert.equal((await d.client.status()).peers, 0, `${name}: connected to nobody`)
    const seen = (await d.client.peers()).find(p => p.peerId === a.info.peerId)
    assert.equal(seen?.connected, false, `${name}: not connected to A`)
  }
  assert.deepEqual((await a.client.peers()).filter(p => p.connected).map(p => p.peerId), [b.info.peerId], 'A is connected to B only')
  // A stranger dialing A's address under a guessed peer id is not told A's real one (noise would name it,
  // "unexpected peer id", were the handshake not hidden by the key).
  const bare = a.info.multiaddrs[0].replace(/\/p2p\/.*$/, '')
  const asked = await cli(['connect', `${bare}/p2p/${b.info.peerId}`, '--data', wrong.dir])
  assert.equal(asked.code, 0, asked.stderr)
  const answer = JSON.parse(asked.stdout) as { connected: boolean, lastDialError?: { message: string } }
  assert.equal(answer.connected, false, 'the handshake fails under the wrong key')
  assert.ok(answer.lastDialError !== undefined, 'with a dial error')
  assert.ok(!answer.lastDialError.message.includes(a.info.peerId), `A's id is not in ${answer.lastDialError.message}`)
  assert.ok(!(await wrong.client.peers()).some(p => p.connected), 'still connected to nobody')
  await b.client.update('swarm-visits', 'g-counter', 'inc', [4])
  await until('A to get B\'s write', async () => (await a.client.get('swarm-visits')).value === 7, 10_000)
  assert.equal((await wrong.client.get('swarm-visits', { wait: 0 }).catch(e => e as Error) as Error).name, 'ApiError', 'the outsider holds nothing')
})

test('a raw TCP client that speaks libp2p to a private daemon hears no protocol name, only random bytes', { timeout: 20_000 }, async () => {
  const { port } = /\/tcp\/(?<port>\d+)/.exec(a.info.multiaddrs[0])!.groups!
  const socket = connect({ host: '127.0.0.1', port: Number(port) })
  sockets.push(socket)
  let got = Buffer.alloc(0)
  socket.on('data', d => { got = Buffer.concat([got, d]) })
  socket.on('error', () => {})
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve).once('error', reject) })
  // multistream-select's header, as a plain libp2p dialer sends it first.
  socket.write(Buffer.concat([Buffer.from([19]), Buffer.from('/multistream/1.0.0\n')]))
  await until('the daemon to answer', () => got.length > 0, 10_000)
  await new Promise(resolve => setTimeout(resolve, 500))
  assert.ok(!got.toString('latin1').includes('multistream'), `no multistream header in ${JSON.stringify(got.toString('latin1'))}`)
  assert.ok(!got.toString('latin1').includes('/noise'), 'no protocol name')
  assert.ok(got.length >= 24, `its 24-byte nonce, got ${got.length} bytes`)
})

test('a bad swarm key file exits 2 naming it (the other cases: test/node/swarm-key.test.ts)', { timeout: 20_000 }, async () => {
  const bad = join(keys, 'bad.key')
  await writeFile(bad, '/key/swarm/psk/1.0.0/\n/base16/\nnot-hex\n', { mode: 0o600 })
  const r = await daemonExit(['--swarm-key', bad])
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, /--swarm-key: swarm key .*bad\.key: its third line must be the key, 64 hex digits/)
})

test('--allow-peer: the named peer connects, another is refused both ways, an unnamed bootstrap peer is not dialed (logged once)', { timeout: 60_000 }, async () => {
  // D is in the swarm, allows B only, and is told to bootstrap from A and B.
  const d = await fx.start({ args: ['--swarm-key', keyFile, '--allow-peer', b.info.peerId], bootstrap: [a.info.multiaddrs[0], b.info.multiaddrs[0]] })
  await until('D to connect to B', async () => (await d.client.peers()).some(p => p.peerId === b.info.peerId && p.connected), 15_000)
  await b.client.update('allowed-key', 'g-counter', 'inc', [2])
  await until('D to get B\'s write', async () => (await d.client.get('allowed-key', { wait: 500 }).catch(() => undefined))?.value === 2, 15_000)
  // Outbound: A, a bootstrap peer not on the list, is not dialed; said once.
  const notDialed = logged(d, 'peer not on the --allow-peer list: not dialed')
  assert.deepEqual(notDialed.map(r => r.peer), [a.info.peerId], `said once, naming A: ${JSON.stringify(notDialed)}`)
  assert.equal((await d.client.peers()).find(p => p.peerId === a.info.peerId)?.lastDialError ?? null, null, 'never dialed')
  // `monoidb connect` to it is refused with the reason.
  const connectA = await cli(['connect', a.info.multiaddrs[0], '--data', d.dir])
  assert.equal(connectA.code, 1)
  assert.match(connectA.stderr, /^monoidb: bad_multiaddr: .*not on this daemon's --allow-peer list/)
  // Inbound: A dials D; the connection is closed once noise names A.
  const fromA = await a.client.connect(d.info.multiaddrs[0])
  assert.equal(fromA.connected, false, 'A cannot connect to D')
  await new Promise(resolve => setTimeout(resolve, 1_000))
  assert.ok(!(await d.client.peers()).some(p => p.peerId === a.info.peerId && p.connected), 'D is not connected to A')
  assert.deepEqual((await d.client.peers()).filter(p => p.connected).map(p => p.peerId), [b.info.peerId])
  assert.equal(logged(d, 'peer not on the --allow-peer list: not dialed').length, 1, 'still said once')
  await a.client.forget(d.info.peerId) // A stops redialing D
})

test('--allow-peer with a malformed peer id exits 2 naming it', { timeout: 20_000 }, async () => {
  const r = await daemonExit(['--allow-peer', '12D3KooWnotapeer'])
  assert.equal(r.code, 2)
  assert.match(r.stderr, /--allow-peer: "12D3KooWnotapeer" is not a libp2p peer id/)
})
