import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRegistry } from '../../contracts/index.ts'
import { LevelStorage } from '../../core/level-storage.ts'
import { ReplicaStore } from '../../core/replica-store.ts'

const daemonPath = fileURLToPath(new URL('../../node/daemon.ts', import.meta.url))
const dirs: string[] = []
const children: ChildProcess[] = []
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

function start (...args: string[]): { child: ChildProcess, out: () => string, err: () => string, exited: Promise<number | null> } {
  const child = spawn(process.execPath, [daemonPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''; let err = ''
  child.stdout!.on('data', b => { out += String(b) })
  child.stderr!.on('data', b => { err += String(b) })
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  return { child, out: () => out, err: () => err, exited }
}

async function until (cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

test('the daemon opens the store, refuses a second holder, and closes cleanly on SIGTERM', async () => {
  const data = await mkdtemp(join(tmpdir(), 'monoidb-daemon-'))
  dirs.push(data)
  // A key written beforehand is counted at start.
  const store = await ReplicaStore.open({ storage: await LevelStorage.open(join(data, 'store')), registry: createRegistry() })
  await store.update('visits', 'g-counter', 'inc', [3])
  await store.close()

  const a = start('--data', data)
  await until(() => a.out().includes('ready'))
  assert.match(a.out(), /ready: 1 keys in .*store/)

  const b = start('--data', data)
  assert.equal(await b.exited, 1)
  assert.match(b.err(), /already open in another process/)

  a.child.kill('SIGTERM')
  assert.equal(await a.exited, 0)
  // The lock is released and the data intact.
  const again = await ReplicaStore.open({ storage: await LevelStorage.open(join(data, 'store')), registry: createRegistry() })
  assert.equal((await again.get('visits'))?.value, 3)
  await again.close()
})

test('bad arguments exit 2 with the usage text', async () => {
  const c = start('--nope')
  assert.equal(await c.exited, 2)
  assert.match(c.err(), /Unknown option '--nope'[\s\S]*usage: monoidb daemon/)
})
