import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { PeerTable } from '../../../core/sync/peer-table.ts'
import { seeded } from './harness.ts'

const PERIOD = 1000
const fp = (n: number): Uint8Array => new Uint8Array(16).fill(n)
const idle = (): boolean => false

test('a differing digest makes a candidate, due at a random time within one period, drawn once', () => {
  fc.assert(fc.property(fc.nat(10_000), fc.integer({ min: 0, max: 1e6 }), (seed, now) => {
    const t = new PeerTable(PERIOD, seeded(seed))
    assert.deepEqual(t.digest('p1', fp(1), fp(0), false, now), { hint: false })
    const due = t.nextDue(fp(0), idle)!
    assert.ok(due >= now && due <= now + PERIOD, `due at ${due - now}`)
    t.digest('p1', fp(2), fp(0), false, now + 1) // a newer digest keeps the start time
    assert.equal(t.nextDue(fp(0), idle), due)
    if (due > now) assert.equal(t.next(fp(0), idle, now), undefined)
    assert.deepEqual(t.next(fp(0), idle, due), { peer: 'p1', pull: false, digest: fp(2) })
    assert.equal(t.next(fp(0), idle, due), undefined, 'taken once')
  }), { numRuns: 200 })
})

test('an equal digest, a busy peer or a session just settled is no candidate', () => {
  const t = new PeerTable(PERIOD, seeded(1))
  t.digest('p1', fp(0), fp(0), false, 0)
  t.digest('p2', fp(2), fp(0), false, 0)
  t.digest('p3', fp(3), fp(0), false, 0)
  t.settled('p3')
  assert.equal(t.next(fp(0), p => p === 'p2', PERIOD), undefined)
  assert.equal(t.nextDue(fp(0), p => p === 'p2'), undefined, 'nothing to wake up for')
  assert.equal(t.next(fp(0), idle, PERIOD)?.peer, 'p2')
})

test('a peer behind us is hinted once per digest, and becomes a candidate only if it stays behind 1.5 periods', () => {
  const t = new PeerTable(PERIOD, seeded(2))
  assert.deepEqual(t.digest('p1', fp(1), fp(0), true, 0), { hint: true })
  assert.ok(t.behind('p1'))
  assert.equal(t.isCandidate('p1'), false)
  assert.deepEqual(t.newlyBehind(() => true, 10), [], 'already told')
  assert.deepEqual(t.digest('p1', fp(1), fp(0), true, 1000), { hint: true })
  assert.equal(t.isCandidate('p1'), false)
  t.digest('p1', fp(1), fp(0), true, 1600)
  assert.ok(t.isCandidate('p1'))
  assert.equal(t.next(fp(0), idle, 1600)?.peer, 'p1', 'we go to it ourselves, at once')
})

test('peers whose last digest became a past state of ours are told once; old digests are not acted on', () => {
  const t = new PeerTable(PERIOD, seeded(3))
  t.digest('p1', fp(1), fp(1), false, 0)
  t.digest('p2', fp(2), fp(9), false, 0)
  t.digest('p3', fp(1), fp(1), false, -3000)
  const behind = (d: Uint8Array): boolean => d[0] === 1
  assert.deepEqual(t.newlyBehind(behind, 500), ['p1'])
  assert.deepEqual(t.newlyBehind(behind, 600), [])
  assert.ok(t.behind('p1'))
})

test('a peer ahead of our current state is pulled from first; a stale claim is ignored', () => {
  const t = new PeerTable(PERIOD, seeded(4))
  t.digest('p1', fp(1), fp(0), false, 0)
  t.ahead('p2', fp(7), fp(0), 0) // says we are at fp(7): we are not
  t.ahead('p3', fp(0), fp(0), 0)
  t.digest('p3', fp(3), fp(0), false, 0)
  assert.equal(t.nextDue(fp(0), idle), 0)
  assert.deepEqual(t.next(fp(0), idle, 0), { peer: 'p3', pull: true, digest: fp(3) })
  t.ahead('p4', fp(0), fp(0), 0)
  assert.equal(t.next(fp(5), idle, 0)?.pull ?? false, false, 'our state moved on: p4 no longer ahead of it')
})

test('expire forgets candidates and claims after two periods, digests after four', () => {
  const t = new PeerTable(PERIOD, seeded(5))
  t.digest('p1', fp(1), fp(0), false, 0)
  t.ahead('p2', fp(0), fp(0), 0)
  t.expire(2001)
  assert.equal(t.next(fp(0), idle, 2001), undefined)
  assert.equal(t.size, 1, 'p1\'s digest is kept longer')
  t.expire(4001)
  assert.equal(t.size, 0)
  t.digest('p1', fp(1), fp(0), false, 5000)
  t.forget('p1')
  assert.equal(t.size, 0)
  assert.equal(t.isCandidate('p1'), false)
})
