// Summaries and deltas of owned keys: exactly what the other side lacks and would keep, and verifiable alone.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encode } from '../../../core/codec.ts'
import type { AnyContract } from '../../../core/contract.ts'
import type { OwnedState } from '../../../core/envelope/index.ts'
import { keys, ownedFor, write } from './owned-fixtures.ts'

const c: AnyContract = ownedFor('g-counter', 'k', undefined, 150)
const sync = (from: unknown, to: unknown): unknown => c.delta(from, c.validateSummary(structuredClone(c.summarize(to))))

test('a holder of the revoke lacks nothing of the revoked writer\'s blocks', () => {
  const bob = write(c, c.empty(), 'bob', 'inc', [1]).state
  const owner = write(c, bob, 'alice', '@writers', [{ revoke: [keys.bob.publicKey] }]).state
  assert.equal(sync(bob, owner), undefined, 'merge(bob, owner) = owner, so nothing to send')
  const d = sync(owner, bob) as OwnedState
  assert.equal(d.a.length, 1, 'the other way: the revoke')
  assert.equal(d.w.length, 0)
})

test('a checkpoint stands for the entries it covers; entries past a checkpoint are sent alone', () => {
  let s = c.empty()
  const states: unknown[] = []
  for (let i = 0; i < 5; i++) { s = write(c, s, 'bob', 'inc', [1]).state; states.push(s) }
  const blk = (s as OwnedState).w[0]
  assert.ok(blk[3].length === 1 && blk[4].length > 0, 'the threshold made a checkpoint, and entries follow it')
  assert.equal(sync(states[1], s), undefined, 'older entries are covered by the newer checkpoint')
  const d = sync(s, states[blk[3][0][0] - 1]) as OwnedState
  assert.deepEqual(d.w[0][3], [], 'they hold the checkpoint: only the entries after it')
  assert.deepEqual(d.w[0][4].map(e => e[0]), blk[4].map(e => e[0]))
  assert.equal(c.view(c.merge(states[blk[3][0][0] - 1], c.validate(structuredClone(d)))), 5)
})

test('a granted writer\'s delta carries its grant, so a peer that never saw the grant verifies it', () => {
  const granted = write(c, c.empty(), 'alice', '@writers', [{ grant: [keys.carol.publicKey] }]).state
  const w1 = write(c, granted, 'carol', 'inc', [2])
  const w2 = write(c, w1.state, 'carol', 'inc', [3])
  const d = sync(w2.state, w1.state) as OwnedState
  assert.equal(d.a.length, 1, 'the grant rides along even to a holder of it')
  assert.equal(c.view(c.merge(c.empty(), c.validate(structuredClone(w2.delta)))), 5, 'a stranger verifies the op delta alone')
  assert.equal(sync(w2.state, w2.state), undefined)
})

test('equivocation (two changes under one number) is kept on both sides, but summaries cannot tell them apart', () => {
  const a = write(c, c.empty(), 'bob', 'inc', [1]).state
  const b = write(c, c.empty(), 'bob', 'inc', [5]).state // same lane, same n = 1, other content
  const ab = c.merge(a, b)
  assert.deepEqual(encode(ab), encode(c.merge(b, a)))
  assert.equal((ab as OwnedState).w[0][4].length, 2, 'both kept')
  assert.equal(sync(a, b), undefined, 'the documented limit: anti-entropy sees nothing to send')
})
