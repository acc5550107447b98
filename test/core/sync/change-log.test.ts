import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { ChangeLog } from '../../../core/sync/change-log.ts'
import { HASH_BYTES, KeyIndex, sameHash } from '../../../core/sync/key-index.ts'
import { LtHash } from '../../../core/sync/lthash.ts'

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g')
const hash = fc.uint8Array({ minLength: HASH_BYTES, maxLength: HASH_BYTES })

/** Replays commits into an index and a change log, keeping a copy of the key space after each. */
function replay (commits: Array<[string, Uint8Array]>, capacity?: number): { index: KeyIndex, log: ChangeLog, states: Array<Map<string, Uint8Array>> } {
  const index = new KeyIndex()
  const log = new ChangeLog(capacity)
  const space = new LtHash()
  log.start(space.digest())
  const states = [new Map<string, Uint8Array>()]
  for (const [k, h] of commits) {
    space.replace(index.get(k), h)
    log.commit(k, index.get(k), space.digest())
    index.set(k, h)
    states.push(new Map(states[states.length - 1]).set(k, h))
  }
  return { index, log, states }
}

/** A whole key space's digest, as digests carry it (the accumulator's 16 bytes). */
function digestOf (state: Map<string, Uint8Array>): { count: number, fp: Uint8Array } {
  const space = new LtHash()
  for (const h of state.values()) space.add(h)
  return { count: state.size, fp: space.digest() }
}

function fingerprintOf (state: Map<string, Uint8Array>, lo = '', hi?: string): { count: number, fp: Uint8Array } {
  const fp = new Uint8Array(HASH_BYTES)
  let count = 0
  for (const [k, h] of state) {
    if (k < lo || (hi !== undefined && k >= hi)) continue
    count++
    h.forEach((x, i) => { fp[i] ^= x })
  }
  return { count, fp }
}

test('a past state of the key space is recognized, with exactly the keys changed since and their hashes then', () => {
  fc.assert(fc.property(fc.array(fc.tuple(key, hash), { minLength: 1, maxLength: 40, size: 'max' }), fc.nat(), (commits, pick) => {
    const { log, states } = replay(commits)
    const then = states[pick % states.length]
    const now = states[states.length - 1]
    const changed = log.since(digestOf(then))
    assert.ok(changed !== undefined)
    const [f, g] = [digestOf(then), digestOf(now)]
    assert.equal(log.behindUs(f), !(f.count === g.count && sameHash(f.fp, g.fp)))
    // Every key whose hash differs now from then is listed with its hash then; no other key is.
    for (const [k, h] of now) {
      const before = then.get(k)
      if (before !== undefined && sameHash(before, h)) continue
      assert.ok(changed.has(k), `missing ${k}`)
      const listed = changed.get(k)
      assert.ok(before === undefined ? listed === undefined : listed !== undefined && sameHash(listed, before))
    }
    for (const k of changed.keys()) assert.ok(now.has(k))
  }), { numRuns: 500 })
})

test('a state never held, or one older than the log keeps, is not recognized', () => {
  fc.assert(fc.property(fc.array(fc.tuple(key, hash), { minLength: 5, maxLength: 30, size: 'max' }), hash, (commits, stranger) => {
    const { log, states } = replay(commits, 3)
    const foreign = new Map(states[states.length - 1]).set('zz', stranger)
    assert.equal(log.since(digestOf(foreign)), undefined)
    assert.equal(log.behindUs(digestOf(foreign)), false)
    // With room for 3 changes, the state 4 commits back is out of reach (unless it recurs later).
    const old = digestOf(states[states.length - 5])
    const recurs = states.slice(-4).some(s => { const f = digestOf(s); return f.count === old.count && sameHash(f.fp, old.fp) })
    if (!recurs) assert.equal(log.since(old), undefined)
  }), { numRuns: 300 })
})

test('matchRanges finds, per range, a past fingerprint of that range and what changed in it since', () => {
  fc.assert(fc.property(fc.array(fc.tuple(key, hash), { minLength: 1, maxLength: 40, size: 'max' }), fc.nat(), fc.constantFrom<[string, string | null]>(['', 'c'], ['c', 'f'], ['f', null], ['', null], ['b', 'e']), (commits, pick, [lo, hi]) => {
    const { index, log, states } = replay(commits)
    const then = states[pick % states.length]
    const now = states[states.length - 1]
    const theirs = fingerprintOf(then, lo, hi ?? undefined)
    const [changed] = log.matchRanges([{ lo, hi, ...theirs }], index)
    const current = fingerprintOf(now, lo, hi ?? undefined)
    if (current.count === theirs.count && sameHash(current.fp, theirs.fp)) { assert.equal(changed, undefined); return }
    assert.ok(changed !== undefined, 'a past state of the range was not found')
    // Applying the listed hashes-then to the range now gives back the peer's fingerprint.
    const rebuilt = new Map([...now].filter(([k]) => k >= lo && (hi === null || k < hi)))
    for (const [k, h] of changed) if (h === undefined) rebuilt.delete(k); else rebuilt.set(k, h)
    const f = fingerprintOf(rebuilt)
    assert.equal(f.count, theirs.count)
    assert.ok(sameHash(f.fp, theirs.fp))
    for (const k of changed.keys()) assert.ok(k >= lo && (hi === null || k < hi))
  }), { numRuns: 500 })
})
