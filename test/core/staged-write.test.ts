import assert from 'node:assert/strict'
import { it } from 'node:test'
import fc from 'fast-check'
import { logRange, seqOfLog } from '../../core/key-layout.ts'
import { type Entry, freshEntry, readStoredKey } from '../../core/key-record.ts'
import { type Staged, stageWrite, stagedOps } from '../../core/staged-write.ts'
import { MemoryStorage } from '../../core/storage.ts'
import { maxRegister } from '../fixtures/max-register.ts'
import { testRegistry } from '../helpers/store-fixtures.ts'

const kb = new TextEncoder().encode('k')

/** Stages `writes` max-register writes after `head` into one batch; returns the batch (if any) and the new head. */
function stageWrites (head: Entry, writes: number, limit: number, local: (i: number) => boolean = () => true): { s: Staged | undefined, head: Entry } {
  let s: Staged | undefined
  for (let i = 0; i < writes; i++) {
    const next: Entry = { ...head, state: head.seq + 1, summary: head.seq + 1, seq: head.seq + 1 }
    s = stageWrite(s, kb, head, next, next.seq, local(i), ['local'], limit)
    head = next
  }
  return { s, head }
}

it('after any sequence of batches the log holds exactly the newest `limit` seqs (property)', async () => {
  await fc.assert(fc.asyncProperty(fc.nat({ max: 5 }), fc.array(fc.nat({ max: 9 }), { maxLength: 8 }), async (limit, batches) => {
    const storage = new MemoryStorage()
    let head: Entry = freshEntry({ id: 'max-register' }, maxRegister)
    for (const writes of batches) {
      let s: Staged | undefined
      ({ s, head } = stageWrites(head, writes, limit))
      if (s !== undefined) {
        assert.ok(s.deltas.length <= limit, 'a batch keeps at most `limit` new deltas in memory')
        assert.equal(s.events.length, writes)
        await storage.batch(stagedOps(s, limit))
      }
      const seqs: number[] = []
      for await (const [k] of storage.iterator(logRange(kb))) seqs.push(seqOfLog(k))
      const want = Array.from({ length: Math.min(limit, head.seq) }, (_, i) => head.seq - Math.min(limit, head.seq) + 1 + i)
      assert.deepEqual(seqs, want)
    }
  }), { numRuns: 300 })
})

it('the key tail state that stagedOps keeps equals what storage then holds, and storage reads back the newest state (property)', async () => {
  const registry = testRegistry()
  await fc.assert(fc.asyncProperty(fc.array(fc.nat({ max: 40 }), { maxLength: 10 }), async batches => {
    const storage = new MemoryStorage()
    let head: Entry = freshEntry({ id: 'max-register' }, maxRegister)
    for (const writes of batches) {
      let s: Staged | undefined
      ({ s, head } = stageWrites(head, writes, 3, i => i % 2 === 0))
      if (s !== undefined) await storage.batch(stagedOps(s, 3))
      const stored = await readStoredKey(storage, kb, 'k', b => registry.resolve(b))
      if (head.seq === 0) { assert.equal(stored, undefined); continue }
      assert.equal(stored!.state, head.seq)
      assert.equal(stored!.seq, head.seq)
      assert.deepEqual(stored!.tail, head.tail)
    }
  }), { numRuns: 300 })
})
