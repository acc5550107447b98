// Real daemon processes on 127.0.0.1: start-up, daemon.json, the pid lock, clean stop, peering, --contract, usage.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRegistry } from '../../contracts/index.ts'
import { LevelStorage } from '../../core/level-storage.ts'
import { ReplicaStore } from '../../core/replica-store.ts'
import type { DaemonInfo } from '../../node/daemon.ts'
import { type ApiError, connect } from '../../node/client.ts'
import { maxRegister } from '../fixtures/max-register.ts'
import { nodeFixtures, until } from '../helpers/node-fixtures.ts'

const daemonPath = fileURLToPath(new URL('../../node/daemon.ts', import.meta.url))
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
const LOOPBACK = ['--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0']
const fx = await nodeFixtures('daemon')
const dirs: string[] = []
const children: ChildProcess[] = []
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  await fx.cleanup()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

async function folder (): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'monoidb-daemon-'))
  dirs.push(d)
  return d
}

interface Daemon { child: ChildProcess, out: () => string, err: () => string, exited: Promise<number | null> }

function start (...args: string[]): Daemon {
  const child = spawn(process.execPath, [daemonPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''; let err = ''
  child.stdout!.on('data', b => { out += String(b) })
  child.stderr!.on('data', b => { err += String(b) })
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  return { child, out: () => out, err: () => err, exited }
}

/** Starts a daemon on `data` and waits for its ready line; returns it with its daemon.json. */
async function startReady (data: string, ...args: string[]): Promise<Daemon & { info: DaemonInfo }> {
  const d = start('daemon', '--data', data, ...LOOPBACK, ...args)
  await until('the ready line', () => d.out().includes('monoidb daemon ready') || d.child.exitCode !== null, 15_000)
  assert.match(d.out(), /ready/, `no ready line; stderr: ${d.err()}`)
  return { ...d, info: JSON.parse(await readFile(join(data, 'daemon.json'), 'utf8')) as DaemonInfo }
}

async function openStore (data: string): Promise<ReplicaStore> {
  return await ReplicaStore.open({ storage: await LevelStorage.open(join(data, 'store')), registry: createRegistry() })
}

test('a daemon writes daemon.json (0600) and one ready line, refuses a second daemon naming its pid, and stops cleanly on SIGTERM', { timeout: 30_000 }, async () => {
  const data = await folder()
  const store = await openStore(data) // a key written beforehand survives the daemon's run
  await store.update('visits', 'g-counter', 'inc', [3])
  await store.close()

  const a = await startReady(data)
  const { info } = a
  assert.deepEqual(Object.keys(info).sort(), ['api', 'multiaddrs', 'peerId', 'token'])
  assert.match(info.peerId, /^12D3KooW/)
  assert.ok(info.multiaddrs.length > 0 && info.multiaddrs.every(m => m.startsWith('/ip4/127.0.0.1/tcp/') && m.endsWith(`/p2p/${info.peerId}`)), String(info.multiaddrs))
  assert.match(info.api, /^http:\/\/127\.0\.0\.1:[1-9]\d*$/, 'the bound port, not 0')
  assert.match(info.token, /^[0-9a-f]{64}$/)
  assert.equal((await stat(join(data, 'daemon.json'))).mode & 0o777, 0o600)
  // stdout is the JSON log (node/daemon-log.ts): one line of it is the ready line.
  const lines = a.out().trim().split('\n').filter(l => (JSON.parse(l) as { msg: string }).msg.startsWith('monoidb daemon ready'))
  assert.equal(lines.length, 1)
  assert.ok(lines[0].includes(info.peerId) && lines[0].includes(info.api) && info.multiaddrs.every(m => lines[0].includes(m)), lines[0])
  assert.equal((await readFile(join(data, 'daemon.pid'), 'utf8')).trim(), String(a.child.pid))

  const b = start('--data', data, ...LOOPBACK)
  assert.equal(await b.exited, 1)
  assert.match(b.err(), new RegExp(`in use by another monoidb daemon, pid ${a.child.pid}\\b`))
  assert.equal(b.out(), '')

  a.child.kill('SIGTERM')
  assert.equal(await a.exited, 0)
  const left = await readdir(data)
  assert.ok(!left.includes('daemon.pid') && !left.includes('daemon.json'), String(left))
  const again = await openStore(data) // LevelDB was closed: it opens, with the data intact
  assert.equal((await again.get('visits'))?.value, 3)
  await again.close()
})

test('a stale daemon.pid (its process gone) is taken over', { timeout: 20_000 }, async () => {
  const data = await folder()
  await writeFile(join(data, 'daemon.pid'), '999999999\n') // above Linux's pid_max: no such process
  const a = await startReady(data)
  assert.equal((await readFile(join(data, 'daemon.pid'), 'utf8')).trim(), String(a.child.pid))
  a.child.kill('SIGINT')
  assert.equal(await a.exited, 0)
})

test('daemon B bootstraps to A from A\'s daemon.json; a write from a peer of A reaches a peer of B and B\'s store', { timeout: 40_000 }, async () => {
  const aDir = await folder(); const bDir = await folder()
  const a = await startReady(aDir, '--replicate-all')
  const b = await startReady(bDir, '--replicate-all', '--bootstrap', a.info.multiaddrs[0])
  // In-process peers: W knows only A, R knows only B, so what R gets went A → B.
  const w = await fx.start({ bootstrap: [a.info.multiaddrs[0]] })
  const r = await fx.start({ replicateAll: true, bootstrap: [b.info.multiaddrs[0]] })
  await until('W and R to connect', () => w.peers().length === 1 && r.peers().length === 1, 10_000)
  await w.update('cart', 'or-set', 'add', ['apples'])
  await until('the write to reach R', async () => JSON.stringify((await r.get('cart'))?.value) === '["apples"]', 15_000)
  assert.deepEqual(w.peers().map(p => p.peerId), [a.info.peerId])
  assert.deepEqual(r.peers().map(p => p.peerId), [b.info.peerId])

  for (const d of [a, b]) d.child.kill('SIGTERM')
  assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0])
  for (const dir of [aDir, bDir]) {
    const store = await openStore(dir)
    assert.deepEqual((await store.get('cart'))?.value, ['apples'], dir)
    await store.close()
  }
})

test('--contract registers a module\'s contracts; writes under it replicate to the daemon', { timeout: 30_000 }, async () => {
  const data = await folder()
  const a = await startReady(data, '--replicate-all', '--contract', fixture('max-register.ts'))
  // W writes, R reads, both know only the daemon: R holding the value means it went through the daemon.
  const w = await fx.start({ bootstrap: [a.info.multiaddrs[0]], contracts: [maxRegister] })
  const r = await fx.start({ replicateAll: true, bootstrap: [a.info.multiaddrs[0]], contracts: [maxRegister] })
  await until('W and R to connect', () => w.peers().length === 1 && r.peers().length === 1, 10_000)
  await w.update('high', 'max-register', 'set', [42])
  await until('the write to reach R', async () => (await r.get('high'))?.value === 42, 15_000)
  const api = connect(a.info.api, a.info.token)
  await until('the daemon to commit what it relayed', async () => (await api.get('high', { wait: 0 }).catch(() => undefined))?.value === 42, 5_000)
  a.child.kill('SIGTERM')
  assert.equal(await a.exited, 0, a.err())
  const store = await ReplicaStore.open({ storage: await LevelStorage.open(join(data, 'store')), registry: (() => { const r = createRegistry(); r.register(maxRegister); return r })() })
  assert.equal((await store.get('high'))?.value, 42)
  await store.close()
})

test('a daemon without a contract merges none of its data, counts it in status, and a read of such a key is 404', { timeout: 30_000 }, async () => {
  const data = await folder()
  const a = await startReady(data) // partial, and without max-register
  const w = await fx.start({ bootstrap: [a.info.multiaddrs[0]], contracts: [maxRegister] })
  await until('W to connect', () => w.peers().length === 1, 10_000)
  await w.update('high', 'max-register', 'set', [42])
  const api = connect(a.info.api, a.info.token)
  // The read asks W, whose answer the daemon cannot merge.
  await assert.rejects(api.get('high', { wait: 1_000 }), (err: ApiError) => err.code === 'not_found' && err.status === 404 && /bound to contract "max-register", which this daemon does not have/.test(err.message))
  const status = await api.status()
  assert.ok(status.unknownContracts.byId['max-register'] > 0, JSON.stringify(status))
  assert.deepEqual(await api.keys(), [])
  a.child.kill('SIGTERM')
  assert.equal(await a.exited, 0, a.err())
})

test('a daemon restarted without the --contract its keys were written with starts, says so, and serves its other keys; the key is back with the contract', { timeout: 40_000 }, async () => {
  const data = await folder()
  const a = await startReady(data, '--contract', fixture('max-register.ts'))
  const api = connect(a.info.api, a.info.token)
  await api.update('high', 'max-register', 'set', [42])
  await api.update('count', 'g-counter', 'inc', [1])
  a.child.kill('SIGTERM')
  assert.equal(await a.exited, 0, a.err())

  const b = await startReady(data)
  assert.match(b.err(), /bound to contracts this daemon does not have: max-register \(1\)/)
  const bApi = connect(b.info.api, b.info.token)
  assert.equal((await bApi.get('count', { wait: 0 })).value, 1)
  await assert.rejects(bApi.get('high', { wait: 0 }), (err: ApiError) => err.status === 404 && err.code === 'unknown_contract' && /"max-register"/.test(err.message))
  assert.deepEqual((await bApi.status()).unknownContractKeys, { byId: { 'max-register': 1 }, others: 0 })
  b.child.kill('SIGTERM')
  assert.equal(await b.exited, 0, b.err())

  const c = await startReady(data, '--contract', fixture('max-register.ts'))
  assert.equal((await connect(c.info.api, c.info.token).get('high', { wait: 0 })).value, 42)
  c.child.kill('SIGTERM')
  assert.equal(await c.exited, 0, c.err())
})

test('--contract with a contract that breaks a law is refused, naming the law and counterexample', { timeout: 20_000 }, async () => {
  const data = await folder()
  const d = start('--data', data, ...LOOPBACK, '--contract', fixture('broken-contracts/merge-by-sum.ts'))
  assert.equal(await d.exited, 1)
  assert.match(d.err(), /merge-by-sum\.ts: contract "sum-counter" breaks law merge-idempotent/)
  assert.match(d.err(), /counterexample history/)
  assert.deepEqual(await readdir(data), [], 'nothing written to the data folder')
})

test('bad usage exits 2 with the usage text', { timeout: 60_000 }, async () => {
  for (const args of [['--nope'], ['--api', 'localhost'], ['--api', '127.0.0.1:70000'], ['--listen', 'not-a-multiaddr'], ['--bootstrap', '/ip4/127.0.0.1/tcp/1'], ['stray']]) {
    const c = start(...args)
    assert.equal(await c.exited, 2, args.join(' '))
    assert.match(c.err(), /^monoidb daemon: .+\nusage: monoidb daemon/, args.join(' '))
  }
  const h = start('--help')
  assert.equal(await h.exited, 0)
  assert.match(h.out(), /usage: monoidb daemon[\s\S]*--api HOST:PORT[\s\S]*bearer token[\s\S]*--replicate-all/)
  assert.match(h.out(), /--durability power\|process[\s\S]*default power/)
})

test('--contract: an op of two arguments no generated call reaches is refused by op-inputs, not started "ready"', { timeout: 20_000 }, async () => {
  const data = await folder()
  const d = start('--data', data, ...LOOPBACK, '--contract', fixture('broken-contracts/two-argument-op.ts'))
  assert.equal(await d.exited, 1)
  assert.match(d.err(), /two-argument-op\.ts: contract "tally" breaks law op-inputs: op "add" accepted 0 of \d+ generated calls.*lawInputs/)
  assert.doesNotMatch(d.out(), /ready/)
  assert.deepEqual(await readdir(data), [])
})

test('--contract: a refusal prints --law-seed and --law-path flags that, pasted, refuse it again the same way', { timeout: 30_000 }, async () => {
  const first = start('--data', await folder(), ...LOOPBACK, '--contract', fixture('broken-contracts/merge-by-sum.ts'))
  assert.equal(await first.exited, 1)
  const replay = /replay: (--law-seed -?\d+ --law-path \S+)/.exec(first.err())
  assert.ok(replay, first.err())
  const again = start('--data', await folder(), ...LOOPBACK, '--contract', fixture('broken-contracts/merge-by-sum.ts'), ...replay[1].split(' '))
  assert.equal(await again.exited, 1)
  const failure = (text: string): string => /breaks law [^\n]+\n\s+counterexample history: [^\n]+/.exec(text)?.[0] ?? text
  assert.equal(failure(again.err()), failure(first.err()))
  assert.match(again.err(), new RegExp(`replay: ${replay[1]} `), 'the replay of the replay is itself')
})

test('--contract uses the module\'s lawInputs: given arguments add(n, why) accepts, the check reaches the sum; bad lawInputs are named', { timeout: 30_000 }, async () => {
  const dir = await folder()
  const tally = JSON.stringify(fixture('broken-contracts/two-argument-op.ts'))
  await writeFile(join(dir, 'with-inputs.ts'), `import fc from ${JSON.stringify(import.meta.resolve('fast-check'))}\nexport { tally } from ${tally}\nexport const lawInputs = { tally: { ops: { add: fc.tuple(fc.integer({ min: 1, max: 9 }), fc.constant('gift')) } } }\n`)
  await writeFile(join(dir, 'bad-inputs.ts'), `export { tally } from ${tally}\nexport const lawInputs = { tallly: { ops: {} } }\n`)
  const d = start('--data', join(dir, 'a'), ...LOOPBACK, '--contract', join(dir, 'with-inputs.ts'))
  assert.equal(await d.exited, 1)
  assert.match(d.err(), /with-inputs\.ts: contract "tally" breaks law merge-idempotent/)
  const bad = start('--data', join(dir, 'b'), ...LOOPBACK, '--contract', join(dir, 'bad-inputs.ts'))
  assert.equal(await bad.exited, 1)
  assert.match(bad.err(), /bad-inputs\.ts: lawInputs names contract "tallly", which the module does not export \(it exports: tally\)/)
})

test('--law-seed and --law-runs: another seed or more runs are another check, bad values exit 2', { timeout: 30_000 }, async () => {
  const d = start('--data', await folder(), ...LOOPBACK, '--contract', fixture('broken-contracts/merge-by-sum.ts'), '--law-seed', '42', '--law-runs', '50')
  assert.equal(await d.exited, 1)
  assert.match(d.err(), /replay: --law-seed 42 --law-path merge-idempotent:/)
  for (const args of [['--law-seed', '1.5'], ['--law-seed', '99999999999'], ['--law-runs', '0'], ['--law-runs', 'many'], ['--law-path', 'merge-idempotent:x']]) {
    const c = start('--data', await folder(), ...LOOPBACK, ...args)
    assert.equal(await c.exited, 2, args.join(' '))
    assert.match(c.err(), /^monoidb daemon: --law-(seed|runs|path)\b.+\nusage: monoidb daemon/, args.join(' '))
  }
})
