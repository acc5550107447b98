/**
 * Crash test: a child process writes to a LevelDB store in a loop and is
 * killed with SIGKILL at random moments, ten times, reopening in between.
 * After each kill: every acknowledged write is present, no batch is half
 * applied (each key's state, seq and delta log tell the same story), and the
 * next run writes under a new replica id (the kill was no clean close), so no
 * dot is ever used twice.
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

it(`every acknowledged write survives ${KILLS} SIGKILLs, no batch is half applied, no dot is reused`, { timeout: 60_000 }, async () => {
  const path = folders.next()
  const writers: string[] = []
  const allAdded = new Set<string>()
  let totalAcked = 0
  for (let round = 0; round < KILLS; round++) {
    const acked = await runAndKill(path, Math.floor(Math.random() * 250))
    assert.ok(!writers.includes(acked.replica), `run ${round} writes under a replica id no earlier run used (${acked.replica})`)
    writers.push(acked.replica)
    for (const v of acked.added) allAdded.add(v)
    totalAcked += acked.added.length + acked.counters.size
    const store = await ReplicaStore.open({ storage: await LevelStorage.open(path), registry: testRegistry(), deltaLogLimit: CRASH_LOG_LIMIT })
    assert.deepEqual(store.replaced, { replica: acked.replica, reason: 'unclean' }, 'a SIGKILL is an unclean stop')
    try {
      for (const [key, value] of acked.counters) {
        assert.ok(((await store.get(key))!.value as number) >= value, `${key}: acknowledged value ${value} is present`)
      }
      for (const key of await store.keys('c')) await checkCounter(store, key, writers)
      const set = await store.get('set')
      if (set !== undefined) {
        const values = new Set(set.value as string[])
        for (const v of allAdded) assert.ok(values.has(v), `acknowledged add ${v} is present`)
        await checkSet(store, values.size, writers)
      } else {
        assert.equal(allAdded.size, 0)
      }
    } finally {
      await store.close()
    }
  }
  assert.ok(totalAcked > 0, 'the writer acknowledged some writes')
})

/**
 * Each inc by 1 was local, so value = seq and the state's per-replica counts sum to it; the log holds
 * exactly the newest deltas, each its writer's count at that seq (consecutive ones of a writer one apart).
 */
async function checkCounter (store: ReplicaStore, key: string, writers: readonly string[]): Promise<void> {
  const value = (await store.get(key))!.value as number
  const state = (await store.deltaFor(key))!.delta as { p: Array<[string, number]> }
  assert.equal(state.p.reduce((sum, [, n]) => sum + n, 0), value, `${key}: the counts sum to the value`)
  const counts = new Map(state.p)
  const log = await store.deltaLog(key)
  assert.equal(log.length, Math.min(value, CRASH_LOG_LIMIT), `${key}: log length matches seq ${value}`)
  log.forEach((e, i) => {
    assert.equal(e.seq, value - log.length + 1 + i, `${key}: log seqs end at the state's seq`)
    const { p, n } = e.delta as { p: Array<[string, number]>, n: unknown[] }
    assert.equal(p.length, 1, `${key}: delta ${e.seq} is one writer's count`)
    assert.deepEqual(n, [])
    const [replica, count] = p[0]
    assert.ok(writers.includes(replica), `${key}: delta ${e.seq} names a writer`)
    assert.ok(count <= counts.get(replica)!, `${key}: delta ${e.seq} is within the state`)
    const prev = log[i - 1]?.delta as { p: Array<[string, number]> } | undefined
    if (prev?.p[0][0] === replica) assert.equal(count, prev.p[0][1] + 1, `${key}: delta ${e.seq} counts one more than the writer's previous one`)
  })
}

/** Each add was a fresh value with a fresh dot of its writer: the log adds one value per seq, and no two values share a dot. */
async function checkSet (store: ReplicaStore, size: number, writers: readonly string[]): Promise<void> {
  const log = await store.deltaLog('set')
  assert.equal(log.length, Math.min(size, CRASH_LOG_LIMIT), 'set: log length matches the number of adds')
  log.forEach((e, i) => {
    assert.equal(e.seq, size - log.length + 1 + i, 'set: log seqs end at the state\'s seq')
    const d = e.delta as { e: Array<[string, [string, number]]> }
    assert.equal(d.e.length, 1)
    assert.ok(writers.includes(d.e[0][1][0]), `set: delta ${e.seq} carries a dot of a writer`)
  })
  const state = (await store.deltaFor('set'))!.delta as { e: Array<[string, [string, number]]> }
  const dots = new Set(state.e.map(([, dot]) => JSON.stringify(dot)))
  assert.equal(dots.size, state.e.length, 'set: no two values share a dot')
}
