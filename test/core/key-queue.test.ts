import assert from 'node:assert/strict'
import { it } from 'node:test'
import { KeyQueue } from '../../core/key-queue.ts'

it('runs writes to one key in call order, each on the value the previous one left, across slow loads', async () => {
  const q = new KeyQueue<number>()
  const memory = new Map<string, number>()
  let loads = 0
  const load = async (key: string): Promise<number | undefined> => {
    loads++
    await new Promise(resolve => setTimeout(resolve, 5))
    return key === 'a' ? 100 : undefined
  }
  const write = (key: string, add: number): Promise<number> =>
    q.run(key, () => memory.get(key), async () => await load(key), v => { const next = (v ?? 0) + add; memory.set(key, next); return next })
  const results = await Promise.all([write('a', 1), write('a', 2), write('b', 5), write('a', 3)])
  assert.deepEqual(results, [101, 103, 5, 106])
  assert.equal(loads, 2) // one per key: later writes found the value in memory
  assert.equal(await write('a', 4), 110) // in memory now: runs at once
  await q.idle()
})

it('a failing write rejects only its caller; the next one still runs', async () => {
  const q = new KeyQueue<number>()
  const slowLoad = async (): Promise<number> => await new Promise(resolve => setTimeout(() => resolve(1), 5))
  const bad = q.run('k', () => undefined, slowLoad, () => { throw new Error('bad op') })
  const good = q.run('k', () => undefined, slowLoad, v => v! + 1)
  await assert.rejects(bad, /bad op/)
  assert.equal(await good, 2)
  // On the fast path (value in memory) an error still comes back as a rejection, not a throw.
  await assert.rejects(q.run('k', () => 1, slowLoad, () => { throw new Error('fast') }), /fast/)
})
