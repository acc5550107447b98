// Issue 9.5: half-open connections must not lock authorised clients out of a real daemon's API.
// The daemon runs with a soft descriptor limit of 2,048 (`ulimit -n`), so a few thousand
// unauthenticated sockets (connected, then silent or stopped mid-headers) are more than it
// could hold; authorised `GET /v1/status` requests, each on a fresh connection, must still succeed fast,
// both once the sockets are open and while a stranger keeps opening more.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { request } from 'node:http'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { type Socket, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { DaemonInfo } from '../../node/daemon.ts'
import { until } from '../helpers/node-fixtures.ts'

const DAEMON_PATH = fileURLToPath(new URL('../../node/daemon.ts', import.meta.url))
const FD_LIMIT = 2_048
const HALF_OPEN = 3_000
/** The documented default cap for a 2,048-descriptor process: a quarter of the limit (README "HTTP API"). */
const EXPECTED_CAP = FD_LIMIT / 4

const root = await mkdtemp(join(tmpdir(), 'monoidb-e2e-half-open-'))
let proc: ChildProcess | undefined
const children: ChildProcess[] = []
const sockets: Socket[] = []
after(async () => {
  for (const s of sockets) s.destroy()
  for (const c of children) c.kill('SIGKILL')
  if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) {
    const exit = new Promise(resolve => proc!.once('exit', resolve))
    proc.kill('SIGKILL')
    await exit
  }
  await rm(root, { recursive: true, force: true })
})

/** Opens half-open sockets to the port in argv, 100 at a time without pause, keeping them; prints how many so far. */
const ATTACKER = `
import { connect } from 'node:net'
const port = Number(process.argv.at(-1))
const held = []
for (let n = 0; ; n += 100) {
  await Promise.all(Array.from({ length: 100 }, () => new Promise(resolve => {
    const s = connect({ host: '127.0.0.1', port })
    held.push(s)
    s.on('error', () => {}).once('connect', resolve).once('close', resolve)
    setTimeout(resolve, 3000)
  })))
  console.log(n + 100)
}
`

/** A daemon under `ulimit -n FD_LIMIT` (the shell lowers the soft limit, then execs node). */
async function startDaemon (): Promise<DaemonInfo> {
  const dir = join(root, 'daemon')
  const args = [DAEMON_PATH, '--data', dir, '--api', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0']
  proc = spawn('/bin/sh', ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout!.on('data', b => { out += String(b) })
  proc.stderr!.on('data', b => { out += String(b) })
  await until('the daemon to be ready', () => out.includes('monoidb daemon ready') || proc!.exitCode !== null, 15_000)
  assert.ok(out.includes('monoidb daemon ready'), `the daemon did not start: ${out}`)
  return JSON.parse(await readFile(join(dir, 'daemon.json'), 'utf8')) as DaemonInfo
}

/** Connects and then sends nothing (even i) or a request cut off mid-headers (odd i); resolves once connected or failed. */
async function halfOpen (port: number, i: number, closed: { n: number }): Promise<void> {
  await new Promise<void>(resolve => {
    const s = connect({ host: '127.0.0.1', port })
    sockets.push(s)
    const timer = setTimeout(() => { s.destroy(); resolve() }, 3_000) // a backlog that never accepts
    s.once('connect', () => {
      clearTimeout(timer)
      if (i % 2 === 1) s.write('GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ')
      resolve()
    })
    s.on('error', () => {})
    s.once('close', () => { clearTimeout(timer); closed.n++; resolve() })
  })
}

/** One authorised GET /v1/status on a connection of its own: its status (or error) and how long it took. */
async function timedStatus (api: URL, token: string): Promise<{ ms: number, result: string }> {
  const start = performance.now()
  const result = await new Promise<string>(resolve => {
    const req = request({ host: api.hostname, port: api.port, path: '/v1/status', agent: false, headers: { authorization: `Bearer ${token}` }, timeout: 5_000 }, res => {
      let body = ''
      res.on('data', b => { body += String(b) })
      res.on('end', () => { resolve(res.statusCode === 200 && JSON.parse(body).peerId !== undefined ? 'ok' : `status ${res.statusCode}: ${body}`) })
      res.on('error', err => { resolve(err.message) })
    })
    req.on('timeout', () => { req.destroy(new Error('no answer within 5 s')) })
    req.on('error', err => { resolve(`${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`) })
    req.end()
  })
  return { ms: performance.now() - start, result }
}

test(`with ${HALF_OPEN} half-open sockets on the API of a daemon limited to ${FD_LIMIT} descriptors, authorised requests succeed within 100 ms`, { timeout: 90_000 }, async () => {
  const info = await startDaemon()
  const api = new URL(info.api)
  const port = Number(api.port)
  const closed = { n: 0 }
  for (let i = 0; i < HALF_OPEN; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, HALF_OPEN - i) }, async (_, j) => { await halfOpen(port, i + j, closed) }))
  }
  // Let the daemon catch up with the last accepts before measuring.
  await new Promise(resolve => setTimeout(resolve, 200))

  const runs: Array<{ ms: number, result: string }> = []
  for (let i = 0; i < 5; i++) runs.push(await timedStatus(api, info.token))
  const times = runs.map(r => r.ms).sort((a, b) => a - b)
  const summary = `times ${runs.map(r => r.ms.toFixed(1)).join(', ')} ms; results ${runs.map(r => r.result).join(' | ')}; ${closed.n} of ${HALF_OPEN} half-open sockets closed by the daemon`
  console.log(`# ${summary}`)
  assert.deepEqual(runs.map(r => r.result), ['ok', 'ok', 'ok', 'ok', 'ok'], `every authorised request succeeds: ${summary}`)
  assert.ok(times[2] < 100, `median under 100 ms: ${summary}`)
  assert.ok(times[4] < 1_000, `the slowest under 1 s: ${summary}`)
  // The daemon sheds the oldest half-open sockets rather than hold one descriptor per socket.
  const open = sockets.filter(s => !s.destroyed && !s.closed).length
  assert.ok(open <= EXPECTED_CAP, `at most ${EXPECTED_CAP} half-open sockets still held by the daemon, got ${open}: ${summary}`)

  // Again while a stranger keeps opening more, from a process of its own (so that this one only measures).
  const attacker = spawn(process.execPath, ['--input-type=module', '-e', ATTACKER, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(attacker)
  let opened = ''
  attacker.stdout!.on('data', b => { opened = String(b).trim().split('\n').at(-1)! })
  await until('the attacker to get going', () => Number(opened) >= 500, 10_000)
  const during: Array<{ ms: number, result: string }> = []
  for (let i = 0; i < 5; i++) during.push(await timedStatus(api, info.token))
  attacker.kill('SIGKILL')
  const duringSummary = `times ${during.map(r => r.ms.toFixed(1)).join(', ')} ms; results ${during.map(r => r.result).join(' | ')}; ${opened} more half-open sockets opened by then`
  console.log(`# during: ${duringSummary}`)
  assert.deepEqual(during.map(r => r.result), ['ok', 'ok', 'ok', 'ok', 'ok'], `every authorised request succeeds during the attack: ${duringSummary}`)
  // No figure asserted here: the stranger's process takes a core of this 2-core machine's, and a connect that
  // finds the kernel's accept queue full is retried a second later; but none may be refused or cut off.

  // And the daemon still serves normally once the attack stops.
  for (const s of sockets) s.destroy()
  const afterwards = await timedStatus(api, info.token)
  assert.equal(afterwards.result, 'ok', 'served after the attack')
})
