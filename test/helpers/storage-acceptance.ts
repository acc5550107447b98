/**
 * The acceptance suite every Storage must pass: call it inside a test file with
 * a factory for fresh, empty storages (and, for persistent ones, a way to
 * reopen the same data after close).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import type { BatchOp, KeyRange, Storage } from '../../core/storage.ts'

export interface StorageFactory {
  /** A fresh, empty, open storage. */
  create (): Promise<Storage>
  /** Opens again what `create` made, after it was closed (persistent storages only). */
  reopen? (closed: Storage): Promise<Storage>
  /** fast-check runs for the model property (default 40). */
  numRuns?: number
}

const b = (...xs: number[]): Uint8Array => Uint8Array.from(xs)

async function all (s: Storage, range: KeyRange = {}): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = []
  for await (const [k, v] of s.iterator(range)) out.push([hex(k), hex(v)])
  return out
}

function hex (x: Uint8Array): string { return Buffer.from(x).toString('hex') }

export function storageAcceptance (name: string, factory: StorageFactory): void {
  describe(`Storage acceptance: ${name}`, () => {
    const withStorage = (title: string, fn: (s: Storage) => Promise<void>): void => {
      it(title, async () => {
        const s = await factory.create()
        try { await fn(s) } finally { await s.close() }
      })
    }

    withStorage('get of a missing key is undefined; put then get returns the bytes', async s => {
      assert.equal(await s.get(b(1)), undefined)
      await s.batch([{ type: 'put', key: b(1), value: b(9, 8) }])
      assert.deepEqual([...(await s.get(b(1)))!], [9, 8])
      await s.batch([{ type: 'put', key: b(1), value: b(7) }])
      assert.deepEqual([...(await s.get(b(1)))!], [7])
    })

    withStorage('del removes a key; deleting a missing key is fine', async s => {
      await s.batch([{ type: 'put', key: b(1), value: b(1) }, { type: 'put', key: b(2), value: b(2) }])
      await s.batch([{ type: 'del', key: b(1) }, { type: 'del', key: b(3) }])
      assert.equal(await s.get(b(1)), undefined)
      assert.deepEqual(await all(s), [['02', '02']])
    })

    withStorage('ops on one key in a batch apply in order', async s => {
      await s.batch([{ type: 'put', key: b(1), value: b(1) }, { type: 'del', key: b(1) }])
      await s.batch([{ type: 'del', key: b(2) }, { type: 'put', key: b(2), value: b(2) }, { type: 'put', key: b(2), value: b(3) }])
      assert.deepEqual(await all(s), [['02', '03']])
    })

    withStorage('a batch with a bad op applies nothing', async s => {
      const bad = [{ type: 'put', key: b(1), value: b(1) }, { type: 'put', key: undefined, value: b(2) }] as unknown as BatchOp[]
      await assert.rejects(s.batch(bad))
      assert.deepEqual(await all(s), [])
    })

    withStorage('stored bytes are copies: mutating inputs or outputs changes nothing', async s => {
      const key = b(5); const value = b(1, 2, 3)
      await s.batch([{ type: 'put', key, value }])
      key[0] = 6; value[0] = 99
      const got = (await s.get(b(5)))!
      assert.deepEqual([...got], [1, 2, 3])
      got[0] = 42
      assert.deepEqual([...(await s.get(b(5)))!], [1, 2, 3])
      assert.equal(await s.get(b(6)), undefined)
    })

    withStorage('iteration is bytewise ordered and honours gte/lt', async s => {
      const keys = [b(0), b(0, 0), b(0, 255), b(1), b(1, 0), b(2), b(255), b(255, 255)]
      await s.batch([...keys].reverse().map(k => ({ type: 'put' as const, key: k, value: b(k.length) })))
      assert.deepEqual((await all(s)).map(([k]) => k), ['00', '0000', '00ff', '01', '0100', '02', 'ff', 'ffff'])
      assert.deepEqual((await all(s, { gte: b(0, 255), lt: b(2) })).map(([k]) => k), ['00ff', '01', '0100'])
      assert.deepEqual((await all(s, { gte: b(1, 0) })).map(([k]) => k), ['0100', '02', 'ff', 'ffff'])
      assert.deepEqual((await all(s, { lt: b(0, 0) })).map(([k]) => k), ['00'])
      assert.deepEqual(await all(s, { gte: b(3), lt: b(3) }), [])
    })

    withStorage('an iterator sees the data as of its start', async s => {
      await s.batch([1, 2, 3].map(i => ({ type: 'put' as const, key: b(i), value: b(i) })))
      const seen: string[] = []
      for await (const [k] of s.iterator({})) {
        if (seen.length === 0) await s.batch([{ type: 'put', key: b(4), value: b(4) }, { type: 'del', key: b(3) }])
        seen.push(hex(k))
      }
      assert.deepEqual(seen, ['01', '02', '03'])
      assert.deepEqual((await all(s)).map(([k]) => k), ['01', '02', '04'])
    })

    it('matches a sorted-map model over random batches (property)', async () => {
      const s = await factory.create()
      let run = 0
      try {
        const key = fc.uint8Array({ minLength: 1, maxLength: 4 })
        const op = fc.oneof(
          fc.record({ type: fc.constant('put' as const), key, value: fc.uint8Array({ maxLength: 6 }) }),
          fc.record({ type: fc.constant('del' as const), key })
        )
        await fc.assert(fc.asyncProperty(fc.array(fc.array(op, { maxLength: 8 }), { maxLength: 6 }), fc.uint8Array({ maxLength: 2 }), fc.uint8Array({ maxLength: 2 }), async (batches, lo, hi) => {
          // Each run gets its own namespace byte pair, so runs never see each other's keys.
          const ns = b((run >> 16) & 0xff, (run >> 8) & 0xff, run & 0xff, 0)
          const nsEnd = b(ns[0], ns[1], ns[2], 1)
          run++
          const at = (k: Uint8Array): Uint8Array => Buffer.concat([ns, k])
          const model = new Map<string, string>()
          for (const batch of batches) {
            await s.batch(batch.map(o => o.type === 'put' ? { type: 'put', key: at(o.key), value: o.value } : { type: 'del', key: at(o.key) }))
            for (const o of batch) {
              if (o.type === 'put') model.set(hex(at(o.key)), hex(o.value)); else model.delete(hex(at(o.key)))
            }
          }
          const sorted = [...model].sort(([x], [y]) => Buffer.compare(Buffer.from(x, 'hex'), Buffer.from(y, 'hex')))
          assert.deepEqual(await all(s, { gte: ns, lt: nsEnd }), sorted)
          const range = { gte: at(lo), lt: at(hi) }
          assert.deepEqual(await all(s, range), sorted.filter(([k]) => {
            const kb = Buffer.from(k, 'hex')
            return Buffer.compare(kb, range.gte) >= 0 && Buffer.compare(kb, range.lt) < 0
          }))
          for (const [k, v] of sorted) assert.equal(hex((await s.get(Buffer.from(k, 'hex')))!), v)
        }), { numRuns: factory.numRuns ?? 40 })
      } finally {
        await s.close()
      }
    })

    it('refuses use after close', async () => {
      const s = await factory.create()
      await s.close()
      await assert.rejects(s.get(b(1)))
      await assert.rejects(s.batch([{ type: 'put', key: b(1), value: b(1) }]))
    })

    if (factory.reopen !== undefined) {
      const reopen = factory.reopen
      it('keeps committed data across close and reopen', async () => {
        const s = await factory.create()
        await s.batch([{ type: 'put', key: b(1), value: b(1) }, { type: 'put', key: b(2), value: b(2) }])
        await s.batch([{ type: 'del', key: b(1) }])
        await s.close()
        const again = await reopen(s)
        try {
          assert.deepEqual(await all(again), [['02', '02']])
        } finally {
          await again.close()
        }
      })
    }
  })
}
