import assert from 'node:assert/strict'
import { it } from 'node:test'
import { type BatchOp, MemoryStorage } from '../../core/storage.ts'
import { WriteQueue } from '../../core/write-queue.ts'

const enc = (s: string): Uint8Array => new TextEncoder().encode(s)

/** A MemoryStorage that records each batch and can be told to fail or stall. */
class SpyStorage extends MemoryStorage {
  batches: BatchOp[][] = []
  failNext = false
  gate: Promise<void> | undefined
  override async batch (ops: BatchOp[]): Promise<void> {
    this.batches.push(ops)
    if (this.gate !== undefined) await this.gate
    if (this.failNext) { this.failNext = false; throw new Error('disk full') }
    await super.batch(ops)
  }
}

function queue (storage: SpyStorage, committed: Array<Map<string, number>> = []): WriteQueue<number> {
  return new WriteQueue<number>(storage, {
    toOps: (key, value) => [{ type: 'put', key: enc(key), value: Uint8Array.of(value) }],
    committed: values => { committed.push(new Map(values)) }
  })
}

it('coalesces a burst into one batch, one op per key, last value wins', async () => {
  const storage = new SpyStorage()
  const committed: Array<Map<string, number>> = []
  const q = queue(storage, committed)
  const done = [q.stage('a', 1), q.stage('b', 2), q.stage('a', 3)]
  assert.equal(q.staged('a'), 3)
  await Promise.all(done)
  assert.equal(storage.batches.length, 1)
  assert.equal(storage.batches[0].length, 2)
  assert.deepEqual([...(await storage.get(enc('a')))!], [3])
  assert.deepEqual(committed.map(m => [...m]), [[['a', 3], ['b', 2]]])
  assert.deepEqual(q.stats, { batches: 1, ops: 2 })
})

it('writes staged during a batch go into the next single batch, and resolve only after it commits', async () => {
  const storage = new SpyStorage()
  const q = queue(storage)
  let release!: () => void
  storage.gate = new Promise(resolve => { release = resolve })
  let firstDone = false
  const first = q.stage('a', 1).then(() => { firstDone = true })
  await new Promise(resolve => setImmediate(resolve)) // first batch is now being written
  assert.equal(storage.batches.length, 1)
  const later = [q.stage('b', 1), q.stage('c', 1), q.stage('a', 2)]
  let laterDone = 0
  for (const p of later) void p.then(() => { laterDone++ })
  await new Promise(resolve => setTimeout(resolve, 5))
  assert.equal(firstDone, false)
  assert.equal(laterDone, 0)
  storage.gate = undefined
  release()
  await first
  await Promise.all(later)
  assert.equal(storage.batches.length, 2)
  assert.equal(storage.batches[1].length, 3)
  await q.drain()
})

it('a failed batch fails its writers, later writers and every later stage', async () => {
  const storage = new SpyStorage()
  const q = queue(storage)
  storage.failNext = true
  const p = q.stage('a', 1)
  await assert.rejects(p, /disk full/)
  await assert.rejects(q.stage('b', 1), /refuses further writes/)
  await assert.rejects(q.drain(), /disk full/)
  assert.ok(q.failure !== undefined)
  assert.equal(await storage.get(enc('a')), undefined)
})

it('a value that cannot become ops fails the batch and writes nothing', async () => {
  const storage = new SpyStorage()
  const q = new WriteQueue<number>(storage, {
    toOps: (key, value) => { if (value < 0) throw new Error('cannot encode'); return [{ type: 'put', key: enc(key), value: Uint8Array.of(value) }] },
    committed: () => {}
  })
  const results = await Promise.allSettled([q.stage('a', 1), q.stage('b', -1)])
  assert.deepEqual(results.map(r => r.status), ['rejected', 'rejected'])
  assert.equal(storage.batches.length, 0)
})

it('drain resolves at once when nothing is pending', async () => {
  const q = queue(new SpyStorage())
  await q.drain()
  await q.stage('a', 1)
  await q.drain()
})
