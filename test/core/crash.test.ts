/**
 * Crash test: a child process writes to a LevelDB store in a loop and is
 * killed with SIGKILL at random moments, ten times, reopening in between.
 * After each kill: every acknowledged write is present, and no batch is half
 * applied: each key's state, seq and delta log tell the same story.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { after, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { LevelStorage } from '../../core/level-storage.ts'
import { ReplicaStore } from '../../core/replica-store.ts'
import { CRASH_LOG_LIMIT } from '../fixtures/crash-writer-config.ts'
import { tempFolders, testRegistry } from '../helpers/store-fixtures.ts'

const CHILD = fileURLToPath(new URL('../fixtures/crash-writer.ts', import.meta.url))
const KILLS = 10
const folders = await tempFolders('crash')
const children = new Set<ChildProcess>()
after(async () => {
  for (const child of children) child.kill('SIGKILL')
  await folders.remove()
})

interface Acked { replica: string, counters: Map<string, number>, added: string[] }

/** Runs the writer until it has been up for `ms` after it is ready, kills it, and returns what it acknowledged. */
async function runAndKill (path: string, ms: number): Promise<Acked> {
  const child = spawn(process.execPath, [CHILD, path], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  const acked: Acked = { replica: '', counters: new Map(), added: [] }
  let pending = ''
  let stderr = ''
  let killTimer: NodeJS.Timeout | undefined
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString()
    const lines = pending.split('\n')
    pending = lines.pop()! // a line without its newline was not fully written: not acknowledged
    for (const line of lines) {
      const [kind, a, b] = line.split(' ')
      if (kind === 'ready') {
        acked.replica = a
        killTimer = setTimeout(() => child.kill('SIGKILL'), ms)
      } else if (kind === 'inc') {
        acked.counters.set(a, Math.max(acked.counters.get(a) ?? 0, Number(b)))
      } else if (kind === 'add') {
        acked.added.push(b)
      }
    }
  })
  const guard = setTimeout(() => child.kill('SIGKILL'), 15_000) // never hang the suite
  const [code, signal] = await new Promise<[number | null, string | null]>(resolve => child.on('exit', (c, s) => resolve([c, s])))
  clearTimeout(guard)
  clearTimeout(killTimer)
  children.delete(child)
  assert.equal(signal, 'SIGKILL', `writer exited by itself (code ${code}): ${stderr}`)
  assert.notEqual(acked.replica, '', `writer was killed before it was ready: ${stderr}`)
  return acked
}

it(`every acknowledged write survives ${KILLS} SIGKILLs and no batch is half applied`, { timeout: 60_000 }, async () => {
  const path = folders.next()
  let replica: string | undefined
  const allAdded = new Set<string>()
  let totalAcked = 0
  for (let round = 0; round < KILLS; round++) {
    const acked = await runAndKill(path, Math.floor(Math.random() * 250))
    replica ??= acked.replica
    assert.equal(acked.replica, replica, 'the replica id survives restarts')
    for (const v of acked.added) allAdded.add(v)
    totalAcked += acked.added.length + acked.counters.size
    const store = await ReplicaStore.open({ storage: await LevelStorage.open(path), registry: testRegistry(), deltaLogLimit: CRASH_LOG_LIMIT })
    try {
      for (const [key, value] of acked.counters) {
        assert.ok(((await store.get(key))!.value as number) >= value, `${key}: acknowledged value ${value} is present`)
      }
      for (const key of await store.keys('c')) await checkCounter(store, key, replica)
      const set = await store.get('set')
      if (set !== undefined) {
        const values = new Set(set.value as string[])
        for (const v of allAdded) assert.ok(values.has(v), `acknowledged add ${v} is present`)
        await checkSet(store, values.size, replica)
      } else {
        assert.equal(allAdded.size, 0)
      }
    } finally {
      await store.close()
    }
  }
  assert.ok(totalAcked > 0, 'the writer acknowledged some writes')
})

/** Each inc by 1 was local, so value = seq, and the log holds exactly the newest deltas, each the count at its seq. */
async function checkCounter (store: ReplicaStore, key: string, replica: string): Promise<void> {
  const value = (await store.get(key))!.value as number
  const log = await store.deltaLog(key)
  assert.equal(log.length, Math.min(value, CRASH_LOG_LIMIT), `${key}: log length matches seq ${value}`)
  log.forEach((e, i) => {
    assert.equal(e.seq, value - log.length + 1 + i, `${key}: log seqs end at the state's seq`)
    assert.deepEqual(e.delta, { p: [[replica, e.seq]], n: [] }, `${key}: delta ${e.seq} is the count at that seq`)
  })
}

/** Each add was a fresh value with the next dot, so the set size = seq and each logged delta adds one value with dot seq. */
async function checkSet (store: ReplicaStore, size: number, replica: string): Promise<void> {
  const log = await store.deltaLog('set')
  assert.equal(log.length, Math.min(size, CRASH_LOG_LIMIT), 'set: log length matches the number of adds')
  log.forEach((e, i) => {
    assert.equal(e.seq, size - log.length + 1 + i, 'set: log seqs end at the state\'s seq')
    const d = e.delta as { e: Array<[string, [string, number]]> }
    assert.equal(d.e.length, 1)
    assert.deepEqual(d.e[0][1], [replica, e.seq], `set: delta ${e.seq} carries dot ${e.seq}`)
  })
}
