// The `monoidb` command as a user runs it: real processes against one real daemon (itself started as `monoidb daemon`).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { DaemonInfo } from '../../node/daemon.ts'
import { until } from '../helpers/node-fixtures.ts'

const cliPath = fileURLToPath(new URL('../../node/cli.ts', import.meta.url))
let dir: string
let data: string
let daemon: ChildProcess
let info: DaemonInfo
const watchers: ChildProcess[] = []

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'monoidb-cli-'))
  data = join(dir, 'a')
  daemon = spawn(process.execPath, [cliPath, 'daemon', '--data', data, '--api', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''; let err = ''
  daemon.stdout!.on('data', b => { out += String(b) })
  daemon.stderr!.on('data', b => { err += String(b) })
  await until('the daemon\'s ready line', () => out.includes('monoidb daemon ready') || daemon.exitCode !== null, 15_000)
  assert.match(out, /ready/, `stderr: ${err}`)
  info = JSON.parse(await readFile(join(data, 'daemon.json'), 'utf8')) as DaemonInfo
})
after(async () => {
  for (const w of watchers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL')
  if (daemon !== undefined && daemon.exitCode === null) {
    const exited = new Promise(resolve => daemon.once('exit', resolve))
    daemon.kill('SIGTERM')
    await exited
  }
  await rm(dir, { recursive: true, force: true })
})

interface Run { code: number | null, stdout: string, stderr: string }

async function cli (args: string[], env: Record<string, string> = {}): Promise<Run> {
  return await new Promise(resolve => {
    const { MONOIDB_TOKEN: _, ...rest } = process.env
    execFile(process.execPath, [cliPath, ...args], { env: { ...rest, ...env }, timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
}
const withData = async (...args: string[]): Promise<Run> => await cli([...args, '--data', data])

function assertError (r: Run, code: number, pattern: RegExp, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, stderr ${r.stderr}`)
  assert.equal(r.stdout, '', what)
  if (code === 1) assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: one stderr line, got ${r.stderr}`)
  assert.match(r.stderr, pattern, what)
}

/** An update's run with its write id's replica (24 hex digits) shown as R: stderr is `write R/SEQ`. */
const written = (r: Run): Run => ({ ...r, stderr: r.stderr.replace(/^write [0-9a-f]{24}\//, 'write R/') })

test('update then get print the value as JSON and exit 0; keys, status and peers print JSON', { timeout: 30_000 }, async () => {
  assert.deepEqual(written(await withData('update', 'visits', 'pn-counter', 'inc', '5')), { code: 0, stdout: '5\n', stderr: 'write R/1\n' }, 'the value on stdout, the write id on stderr')
  assert.deepEqual(written(await withData('update', 'cart/1', 'or-set', 'add', '"apples"')), { code: 0, stdout: '["apples"]\n', stderr: 'write R/1\n' })
  assert.deepEqual(written(await withData('update', 'cart/1', 'or-set', 'add', '"pears"')), { code: 0, stdout: '["pears","apples"]\n', stderr: 'write R/2\n' })
  assert.deepEqual(written(await withData('update', 'cart/1', 'or-set', 'remove', '"pears"')), { code: 0, stdout: '["apples"]\n', stderr: 'write R/3\n' })
  assert.deepEqual(await withData('update', 'cart/1', 'or-set', 'remove', '"pears"'), { code: 0, stdout: '["apples"]\n', stderr: '' }, 'an op that changes nothing has no write id')
  assert.deepEqual(written(await withData('update', 'log', '{"id":"log","params":{"keepLast":2}}', 'append', '{"a":[1,2]}')), { code: 0, stdout: (await withData('get', 'log')).stdout, stderr: 'write R/1\n' })
  assert.deepEqual(await withData('get', 'visits'), { code: 0, stdout: '5\n', stderr: '' })
  assert.deepEqual(await withData('get', 'cart/1'), { code: 0, stdout: '["apples"]\n', stderr: '' })
  assert.deepEqual(written(await withData('update', 'temp', 'lww-register', 'set', '-3.5')), { code: 0, stdout: '-3.5\n', stderr: 'write R/1\n' }, 'a negative number is an ARG_JSON')
  assert.deepEqual(written(await cli(['--data', data, 'update', 'temp', 'lww-register', 'set', '--', '-2'])), { code: 0, stdout: '-2\n', stderr: 'write R/2\n' }, 'arguments after --')

  assert.deepEqual(JSON.parse((await withData('keys', '--prefix', 'cart/')).stdout), ['cart/1'])
  assert.deepEqual(JSON.parse((await withData('keys')).stdout), ['cart/1', 'log', 'temp', 'visits'])
  const status = await withData('status')
  assert.equal(status.code, 0)
  assert.deepEqual(JSON.parse(status.stdout), { peerId: info.peerId, multiaddrs: info.multiaddrs, peers: 0, keys: 4, replicateAll: false, unknownContracts: { byId: {}, others: 0 }, unknownContractKeys: { byId: {}, others: 0 }, sessions: [], publicKey: null })
  assert.deepEqual(await withData('peers'), { code: 0, stdout: '[]\n', stderr: '' })
})

test('errors exit 1 with one stderr line naming them', { timeout: 30_000 }, async () => {
  assertError(await withData('get', 'missing', '--wait', '0'), 1, /^monoidb: not_found: .*"missing"/, 'missing key')
  await withData('update', 'bound', 'g-counter', 'inc', '1')
  assertError(await withData('update', 'bound', 'or-set', 'add', '1'), 1, /^monoidb: contract_mismatch: /, 'other contract')
  assertError(await withData('update', 'k', 'no-such', 'add', '1'), 1, /^monoidb: unknown_contract: /, 'unknown contract')
  assertError(await withData('update', 'k', 'pn-counter', 'inc', '"five"'), 1, /^monoidb: bad_args: /, 'wrong args')
  const nowhere = join(dir, 'nowhere')
  assertError(await cli(['status', '--data', nowhere]), 1, new RegExp(`^monoidb: no daemon\\.json in ${nowhere}`), 'no daemon.json')
  assertError(await cli(['status', '--api', info.api]), 1, /MONOIDB_TOKEN/, '--api without a token')
  assertError(await cli(['status', '--api', 'http://127.0.0.1:1'], { MONOIDB_TOKEN: 'x' }), 1, /^monoidb: unreachable: /, 'no daemon there')
})

test('--api URL with MONOIDB_TOKEN works; a wrong token exits 1 naming unauthorized', { timeout: 20_000 }, async () => {
  assert.deepEqual(written(await cli(['update', 'via-api', 'g-set', 'add', '1', '--api', info.api], { MONOIDB_TOKEN: info.token })), { code: 0, stdout: '[1]\n', stderr: 'write R/1\n' })
  assert.deepEqual(await cli(['get', 'via-api', '--api', info.api], { MONOIDB_TOKEN: info.token }), { code: 0, stdout: '[1]\n', stderr: '' })
  assertError(await cli(['get', 'via-api', '--api', info.api], { MONOIDB_TOKEN: 'not-the-token' }), 1, /^monoidb: unauthorized: /, 'wrong token')
})

test('bad usage exits 2 with the usage text', { timeout: 30_000 }, async () => {
  const cases: Array<[string[], RegExp, string]> = [
    [[], /a command is needed[\s\S]*usage: monoidb COMMAND/, 'no command'],
    [['frobnicate'], /unknown command "frobnicate"[\s\S]*usage: monoidb COMMAND/, 'unknown command'],
    [['get'], /get needs KEY[\s\S]*usage: monoidb get KEY/, 'get without KEY'],
    [['get', 'a', 'b'], /usage: monoidb get KEY/, 'get with two keys'],
    [['update', 'k', 'or-set'], /update needs OP[\s\S]*usage: monoidb update/, 'update without OP'],
    [['update', 'k', 'or-set', 'add', '1', 'apples'], /ARG_JSON 2, "apples", is not JSON[\s\S]*usage: monoidb update/, 'bad ARG_JSON'],
    [['update', 'k', '{"id":', 'add'], /CONTRACT .* is neither an id nor a JSON ref/, 'bad CONTRACT JSON'],
    [['status', '--bogus'], /Unknown option '--bogus'[\s\S]*usage: monoidb COMMAND/, 'unknown option'],
    [['status', '--data', data, '--api', info.api], /give --data or --api, not both/, 'both --data and --api'],
    [['status', '--api', 'not a url'], /--api "not a url" is not a URL/, 'bad --api'],
    [['keys', 'extra'], /keys takes no arguments/, 'keys with an argument'],
    [['get', 'k', '--wait', 'soon'], /--wait must be a whole number/, 'bad --wait'],
    [['help', 'nope'], /no command "nope"/, 'help for no command']
  ]
  await Promise.all(cases.map(async ([args, pattern, what]) => { assertError(await cli(args), 2, pattern, what) }))
})

test('--help and help COMMAND print the documentation and exit 0', { timeout: 20_000 }, async () => {
  const top = await cli(['--help'])
  assert.equal(top.code, 0)
  for (const c of ['get KEY', 'update KEY CONTRACT OP [ARG_JSON...]', 'watch KEY', 'keys [--prefix P]', 'status', 'peers', 'daemon', '--data DIR', '--api URL', 'MONOIDB_TOKEN', 'Exit status']) {
    assert.ok(top.stdout.includes(c), `--help mentions ${c}`)
  }
  const update = await cli(['help', 'update'])
  assert.equal(update.code, 0)
  assert.match(update.stdout, /^usage: monoidb update KEY CONTRACT OP \[ARG_JSON\.\.\.\]/)
  assert.ok(!update.stdout.includes('usage: monoidb watch'), 'only that command')
  assert.match((await cli(['watch', '--help'])).stdout, /^usage: monoidb watch KEY/)
  assert.match((await cli(['help', 'daemon'])).stdout, /^usage: monoidb daemon \[--data DIR\]/)
})

test('watch prints the current value, then one line per change', { timeout: 20_000 }, async () => {
  await withData('update', 'watched', 'pn-counter', 'inc', '1')
  const w = spawn(process.execPath, [cliPath, 'watch', 'watched', '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] })
  watchers.push(w)
  let out = ''
  w.stdout!.on('data', b => { out += String(b) })
  await until('the current value', () => out.includes('\n'), 10_000)
  const update = await withData('update', 'watched', 'pn-counter', 'inc', '2')
  assert.deepEqual(written(update), { code: 0, stdout: '3\n', stderr: 'write R/2\n' })
  await until('the change line', () => out.split('\n').length >= 3, 10_000)
  const lines = out.trim().split('\n').map(l => JSON.parse(l) as unknown)
  assert.deepEqual(lines, [
    { key: 'watched', contract: { id: 'pn-counter' }, value: 1 },
    { key: 'watched', contract: { id: 'pn-counter' }, value: 3, origin: 'local', write: update.stderr.slice('write '.length).trim() }
  ])
  const exited = new Promise<number | null>(resolve => w.once('exit', code => { resolve(code) }))
  w.kill('SIGINT')
  assert.equal(await exited, 0, 'interrupted: exit 0')
})

test('dashboard prints a link with a fresh ticket (never the token); --open hands it to the system opener', { timeout: 30_000 }, async () => {
  const r = await withData('dashboard')
  assert.equal(r.code, 0, r.stderr)
  const link = new URL(r.stdout.trim())
  assert.equal(link.origin, new URL(info.api).origin)
  assert.equal(link.pathname, '/')
  const ticket = link.searchParams.get('ticket')!
  assert.match(ticket, /^[A-Za-z0-9_-]{43}$/)
  assert.ok(!r.stdout.includes(info.token), 'no token in the link')
  assert.equal((await fetch(`${info.api}/v1/keys/visits/events?ticket=${ticket}`, { signal: AbortSignal.timeout(5_000) }).then(async res => { await res.body?.cancel(); return res.status })), 200, 'the ticket opens an event stream')
  assert.notEqual((await withData('dashboard')).stdout, r.stdout, 'a new ticket each time')

  // A stand-in xdg-open on PATH records what it was given.
  const bin = join(dir, 'bin')
  const got = join(dir, 'opened.txt')
  await mkdir(bin, { recursive: true })
  await writeFile(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > ${JSON.stringify(got)}\n`, { mode: 0o755 })
  const opened = await cli(['dashboard', '--open', '--data', data], { PATH: `${bin}:${process.env.PATH ?? ''}` })
  assert.equal(opened.code, 0, opened.stderr)
  await until('the opener to run', async () => await readFile(got, 'utf8').then(t => t.length > 0, () => false), 5_000)
  assert.equal(await readFile(got, 'utf8'), opened.stdout.trim(), 'the printed link is the one opened')

  assertError(await withData('status', '--open'), 2, /--open is for dashboard/, '--open elsewhere')
  assertError(await withData('dashboard', 'extra'), 2, /takes no arguments/, 'an argument')
})
