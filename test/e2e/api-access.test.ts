// The local API's exposure on real daemons: HTTPS end to end (daemon.json names the certificate, the CLI and the
// typed client trust it, MONOIDB_CA for --api URL); requests without the token get 401; slow clients are cut off
// (TLS handshake, headers, body), an over-large header gets 431, event streams past the cap get 503, and event
// streams survive a flood of strangers at the connection cap; a remote bind needs --api-allow-remote (exit 2
// naming it) and warns without TLS; bad TLS flags and files exit 2 naming them. The certificate is made here
// with openssl, for 127.0.0.1.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises'
import { type Socket, connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TLSSocket, connect as tlsConnect } from 'node:tls'
import { fileURLToPath } from 'node:url'
import type { WatchEvent } from '../../node/client.ts'
import { fetchTrusting } from '../../node/tls-fetch.ts'
import { type DaemonProcess, daemonFixtures } from '../helpers/daemon-fixtures.ts'
import { until } from '../helpers/node-fixtures.ts'

const CLI = fileURLToPath(new URL('../../node/cli.ts', import.meta.url))
const DAEMON = fileURLToPath(new URL('../../node/daemon.ts', import.meta.url))
const HEADERS_MS = 500
const REQUEST_MS = 1_000
const fx = await daemonFixtures('api-access')
const files = await mkdtemp(join(tmpdir(), 'monoidb-access-tls-'))
const cert = join(files, 'cert.pem')
const key = join(files, 'key.pem')
const otherCert = join(files, 'other-cert.pem')
const otherKey = join(files, 'other-key.pem')
const sockets: Socket[] = []
const stop = new AbortController()
let d: DaemonProcess
let port: number

function makeCert (certFile: string, keyFile: string): void {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-days', '2', '-subj', '/CN=monoidb test', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' })
}

before(async () => {
  makeCert(cert, key)
  makeCert(otherCert, otherKey)
  await chmod(key, 0o600)
  await chmod(otherKey, 0o600)
  d = await fx.start({
    args: ['--api-tls-cert', cert, '--api-tls-key', key, '--api-headers-timeout', String(HEADERS_MS), '--api-request-timeout', String(REQUEST_MS),
      '--api-max-header-bytes', '2048', '--api-max-connections', '8', '--api-max-event-streams', '2']
  })
  port = Number(new URL(d.info.api).port)
}, { timeout: 30_000 })
after(async () => {
  stop.abort()
  for (const s of sockets) s.destroy()
  await fx.cleanup()
  await rm(files, { recursive: true, force: true })
})

async function run (file: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    // Killed if it runs on: a daemon that should have refused its flags must not outlive the test.
    execFile(process.execPath, [file, ...args], { env: { ...process.env, ...env }, timeout: 15_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? -1, stdout, stderr })
    })
  })
}

interface Raw { socket: Socket, received: () => string, closed: () => boolean, closedAfterMs: Promise<number> }

/** A connection to the API: TLS (trusting the test certificate) or, with `tls` false, bare TCP that never starts TLS. */
async function raw (tls = true, send?: string): Promise<Raw> {
  const start = performance.now()
  const socket: Socket = tls ? tlsConnect({ host: '127.0.0.1', port, ca: await readFile(cert) }) : tcpConnect({ host: '127.0.0.1', port })
  sockets.push(socket)
  let data = ''
  let closed = false
  socket.on('data', b => { data += String(b) })
  socket.on('error', () => {})
  const closedAfterMs = new Promise<number>(resolve => { socket.once('close', () => { closed = true; resolve(performance.now() - start) }) })
  await new Promise<void>((resolve, reject) => { socket.once(tls ? 'secureConnect' : 'connect', resolve).once('error', reject) })
  if (send !== undefined) socket.write(send)
  return { socket, received: () => data, closed: () => closed, closedAfterMs }
}

test('HTTPS end to end: daemon.json names the certificate; the typed client and the CLI trust it; MONOIDB_CA for --api', { timeout: 30_000 }, async () => {
  assert.match(d.info.api, /^https:\/\/127\.0\.0\.1:\d+$/)
  assert.equal(d.info.ca, cert)
  assert.equal((await d.client.update('tls-key', 'g-counter', 'inc', [2])).value, 2)
  const viaData = await run(CLI, ['update', 'tls-key', 'g-counter', 'inc', '3', '--data', d.dir])
  assert.equal(viaData.code, 0, viaData.stderr)
  assert.equal(viaData.stdout, '5\n')
  const viaApi = await run(CLI, ['get', 'tls-key', '--api', d.info.api], { MONOIDB_TOKEN: d.info.token, MONOIDB_CA: cert })
  assert.deepEqual([viaApi.code, viaApi.stdout], [0, '5\n'], viaApi.stderr)
  // Trust is what makes it work: no CA, or another certificate, is refused by the client.
  const untrusted = await run(CLI, ['get', 'tls-key', '--api', d.info.api], { MONOIDB_TOKEN: d.info.token })
  assert.equal(untrusted.code, 1)
  assert.match(untrusted.stderr, /^monoidb: unreachable: cannot reach the daemon at https:\/\/127\.0\.0\.1:\d+: .*(SELF_SIGNED|CERT|certificate)/i)
  const wrongCa = await run(CLI, ['get', 'tls-key', '--api', d.info.api], { MONOIDB_TOKEN: d.info.token, MONOIDB_CA: otherCert })
  assert.equal(wrongCa.code, 1)
  assert.match(wrongCa.stderr, /unreachable/)
  assert.doesNotMatch(wrongCa.stderr + untrusted.stderr, new RegExp(d.info.token), 'the token is never printed')
  // Plain HTTP to the HTTPS port gets no answer of the API.
  const plain = await fetch(`http://127.0.0.1:${port}/v1/status`, { headers: { authorization: `Bearer ${d.info.token}` } }).then(r => r.status, () => 'failed')
  assert.notEqual(plain, 200)
})

test('over HTTPS the dashboard cookie is Secure and its writes must come from the https:// origin', { timeout: 20_000 }, async () => {
  const f = fetchTrusting(await readFile(cert))
  const { ticket } = await d.client.ticket()
  const page = await f(`${d.info.api}/?ticket=${ticket}`)
  assert.equal(page.status, 200)
  const setCookie = page.headers.get('set-cookie')!
  assert.match(setCookie, /; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/)
  const cookie = setCookie.split(';')[0]
  const body = JSON.stringify({ contract: 'g-counter', op: 'inc', args: [1] })
  const plainOrigin = await f(`${d.info.api}/v1/keys/cookie-key`, { method: 'POST', headers: { cookie, origin: d.info.api.replace('https:', 'http:'), 'content-type': 'application/json' }, body })
  assert.equal(plainOrigin.status, 403, 'an http:// origin is another origin')
  const own = await f(`${d.info.api}/v1/keys/cookie-key`, { method: 'POST', headers: { cookie, origin: d.info.api, 'content-type': 'application/json' }, body })
  assert.equal(own.status, 200, 'the page\'s own https:// origin')
})

test('a request without the token, or with another, gets 401 unauthorized and changes nothing', { timeout: 20_000 }, async () => {
  const f = fetchTrusting(await readFile(cert))
  for (const headers of [{}, { authorization: 'Bearer not-the-token' }, { authorization: d.info.token }] as Array<Record<string, string>>) {
    const res = await f(`${d.info.api}/v1/keys/tls-key`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ contract: 'g-counter', op: 'inc', args: [100] }) })
    assert.equal(res.status, 401, JSON.stringify(headers))
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'unauthorized')
  }
  for (const path of ['/v1/status', '/v1/keys', '/v1/events', '/v1/peers']) {
    assert.equal((await f(`${d.info.api}${path}`)).status, 401, path)
  }
  assert.equal((await d.client.get('tls-key')).value, 5, 'nothing was written')
})

test('slow clients are cut off: no TLS handshake, unfinished headers, a body that never ends', { timeout: 30_000 }, async () => {
  const silentTcp = await raw(false)
  const silentTls = await raw(true)
  const partial = await raw(true, `GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${d.info.token.slice(0, 10)}`)
  const slowBody = await raw(true, `POST /v1/keys/slow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${d.info.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"contract":`)
  // The slow body keeps trickling a byte every 100 ms: still cut at the request timeout.
  const drip = setInterval(() => { if (!slowBody.closed()) slowBody.socket.write(' ') }, 100)
  try {
    const ms = await Promise.all([silentTcp, silentTls, partial, slowBody].map(async r => await r.closedAfterMs))
    const [tcpMs, tlsMs, partialMs, bodyMs] = ms
    for (const [what, took, bound] of [['no handshake', tcpMs, HEADERS_MS], ['silent', tlsMs, HEADERS_MS], ['partial headers', partialMs, HEADERS_MS], ['slow body', bodyMs, REQUEST_MS]] as const) {
      assert.ok(took >= bound - 50, `${what}: closed after ${took.toFixed(0)} ms, not before its ${bound} ms timeout`)
      assert.ok(took < bound + 4_000, `${what}: closed after ${took.toFixed(0)} ms, soon after its ${bound} ms timeout`)
    }
  } finally {
    clearInterval(drip)
  }
  assert.match(partial.received(), /^HTTP\/1\.1 408 /)
  assert.equal((await d.client.get('slow', { wait: 0 }).catch((e: Error) => e.message)).toString().includes('not held'), true, 'the slow write changed nothing')
})

test('a header over --api-max-header-bytes gets 431', { timeout: 20_000 }, async () => {
  const big = await raw(true, `GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${d.info.token}\r\nX-Filler: ${'a'.repeat(3_000)}\r\n\r\n`)
  await until('an answer', () => big.received().length > 0 || big.closed())
  assert.match(big.received(), /^HTTP\/1\.1 431 /)
  const fits = await raw(true, `GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${d.info.token}\r\nX-Filler: ${'a'.repeat(1_000)}\r\nConnection: close\r\n\r\n`)
  await until('an answer', () => fits.received().length > 0 || fits.closed())
  assert.match(fits.received(), /^HTTP\/1\.1 200 /, 'a header under the limit is served')
})

test('event streams past --api-max-event-streams get 503 unavailable; open ones outlive a flood at the connection cap', { timeout: 30_000 }, async () => {
  const events: WatchEvent[][] = [[], []]
  const follow = async (i: number, it: AsyncIterable<WatchEvent>): Promise<void> => { try { for await (const e of it) events[i].push(e) } catch {} }
  void follow(0, d.client.watch('streamed', { signal: stop.signal }))
  const changes = fetchTrusting(await readFile(cert))(`${d.info.api}/v1/events`, { headers: { authorization: `Bearer ${d.info.token}` }, signal: stop.signal })
  const all = await changes
  assert.equal(all.status, 200)
  let allText = ''
  void (async () => { try { for await (const c of all.body!) allText += new TextDecoder().decode(c) } catch {} })()
  await until('the first stream\'s first event', () => events[0].length === 1, 10_000)

  const third = await run(CLI, ['watch', 'streamed', '--data', d.dir])
  assert.equal(third.code, 1)
  assert.match(third.stderr, /^monoidb: unavailable: this daemon already serves its maximum of 2 event streams/)
  const res = await fetchTrusting(await readFile(cert))(`${d.info.api}/v1/keys/streamed/events`, { headers: { authorization: `Bearer ${d.info.token}` } })
  assert.equal(res.status, 503)
  assert.equal(res.headers.get('retry-after'), '5')
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'unavailable')

  // Strangers fill the connection cap (8) many times over: the cap sheds them, never the streams (under TLS too).
  for (let i = 0; i < 12; i++) await raw(false)
  await d.client.update('streamed', 'g-counter', 'inc', [9])
  await until('both streams to carry the change', () => events[0].some(e => e.value === 9) && allText.includes('"value":9'), 10_000)
})

test('--api on a non-loopback address exits 2 naming --api-allow-remote; with it and no TLS, a warning', { timeout: 30_000 }, async () => {
  // The other hosts: test/node/daemon-access.test.ts.
  for (const api of ['0.0.0.0:0']) {
    const r = await run(DAEMON, ['--data', join(files, 'never'), '--api', api])
    assert.equal(r.code, 2, api)
    assert.match(r.stderr, new RegExp(`--api ${api.replace(/[.[\]]/g, '\\$&')} is reachable from other machines: .*--api-allow-remote`))
  }
  const open = await fx.start({ args: ['--api-allow-remote'] })
  const warning = open.output().split('\n').find(l => l.includes('"api_remote_plain"'))
  assert.ok(warning !== undefined, open.output())
  assert.match(warning, /token travels in clear/)
  assert.match(warning, /"level":40/)
  assert.doesNotMatch(open.output(), new RegExp(open.info.token), 'the token is in no log line')
  assert.doesNotMatch(d.output(), /api_remote_plain/, 'no warning for a loopback API')
  await open.stop()
})

test('a TLS key that does not match the certificate exits 2 naming it, quoting no key material', { timeout: 20_000 }, async () => {
  // The other cases: test/node/daemon-access.test.ts.
  const r = await run(DAEMON, ['--data', join(files, 'never'), '--api-tls-cert', cert, '--api-tls-key', otherKey])
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, /--api-tls-key .*other-key\.pem does not match the certificate in --api-tls-cert .*cert\.pem/)
  assert.doesNotMatch(r.stderr, /BEGIN|PRIVATE KEY/)
})

test('the HTTPS daemon stops cleanly on SIGTERM, event streams and all', { timeout: 20_000 }, async () => {
  assert.equal(await d.stop(), 0, d.output())
})
