// Summaries and deltas of owned keys: exactly what the other side lacks and would keep, and verifiable alone.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encode } from '../../../core/codec.ts'
import type { AnyContract } from '../../../core/contract.ts'
import type { OwnedState } from '../../../core/envelope/index.ts'
import { keys, ownedFor, write } from './owned-fixtures.ts'

const c: AnyContract = ownedFor('g-counter', 'k', undefined, 2)
const sync = (from: unknown, to: unknown): unknown => c.delta(from, c.validateSummary(structuredClone(c.summarize(to))))

test('a holder of the revoke lacks nothing of the revoked writer\'s blocks', () => {
  const bob = write(c, c.empty(), 'bob', 'inc', [1]).state
  const owner = write(c, bob, 'alice', '@writers', [{ revoke: [keys.bob.publicKey] }]).state
  assert.equal(sync(bob, owner), undefined, 'merge(bob, owner) = owner, so nothing to send')
  const d = sync(owner, bob) as OwnedState
  assert.equal(d.a.length, 1, 'the other way: the revoke')
  assert.equal(d.w.length, 0)
})

test('a checkpoint stands for the items it covers; what follows it is sent alone; blocks stay small', () => {
  let s = c.empty()
  const states: unknown[] = [s]
  for (let i = 0; i < 11; i++) { s = write(c, s, 'bob', 'inc', [1]).state; states.push(s) }
  const blk = (s as OwnedState).w[0]
  // 11 = 8 + 2 + 1 in base 2: a checkpoint of 1..8, one of 9..10, and entry 11.
  assert.deepEqual(blk[3].map(k => [k[0], k[1]]), [[1, 8], [9, 10]])
  assert.deepEqual(blk[4].map(e => e[0]), [11])
  for (let i = 0; i <= 8; i++) assert.equal(sync(states[i], s), undefined, `what the state after write ${i} holds is covered`)
  const d = sync(s, states[8]) as OwnedState
  assert.deepEqual(d.w[0][3].map(k => [k[0], k[1]]), [[9, 10]], 'they hold 1..8: the checkpoint of 9..10 and entry 11')
  assert.deepEqual(d.w[0][4].map(e => e[0]), [11])
  assert.equal(c.view(c.merge(states[8], c.validate(structuredClone(d)))), 11)
  assert.equal(c.view(c.merge(states[3], c.validate(structuredClone(sync(s, states[3]))))), 11)
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

test('equivocation (two changes under one number) is kept on both sides, and summaries tell them apart', () => {
  const a = write(c, c.empty(), 'bob', 'inc', [1]).state
  const b = write(c, c.empty(), 'bob', 'inc', [5]).state // same lane, same n = 1, other content
  const ab = c.merge(a, b)
  assert.deepEqual(encode(ab), encode(c.merge(b, a)))
  assert.equal((ab as OwnedState).w[0][4].length, 2, 'both kept')
  assert.ok(!Buffer.from(encode(c.summarize(a))).equals(encode(c.summarize(b))))
  assert.deepEqual(encode(c.merge(b, c.validate(structuredClone(sync(a, b))))), encode(ab), 'anti-entropy sends the other twin')
})
