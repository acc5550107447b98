import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { PartialPeers, WANT_ANSWER_KEYS_PER_SECOND, WANT_ANSWER_MS, WantAnswers } from '../../../core/sync/partial-peers.ts'

const fp = (n: number): Uint8Array => new Uint8Array(20).fill(n)
const idle = (): boolean => false

/** Calls `next` until nothing is due (at most `limit` times): the peers it returned, in order. */
function drain (pp: PartialPeers, mine: Uint8Array, busy: (p: string) => boolean = idle, limit = 100): string[] {
  const out: string[] = []
  for (let i = 0; i < limit; i++) {
    const p = pp.next(mine, busy)
    if (p === undefined) return out
    assert.equal(p.all, true, 'among partial neighbours every session sends all our keys')
    out.push(p.peer)
  }
  throw new Error(`next never ran dry: ${out.join(',')}`)
}

const peerNames = fc.uniqueArray(fc.constantFrom('p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'), { minLength: 1 })

type PeerEvent =
  | { op: 'joined' | 'left' | 'failed', peer: string }
  | { op: 'digest', peer: string, fp: number }
  | { op: 'next', mine: number }

/** A random history of neighbour events over a few peers. */
const events: fc.Arbitrary<PeerEvent[]> = fc.array(fc.oneof(
  fc.record({ op: fc.constant('joined' as const), peer: fc.constantFrom('a', 'b', 'c', 'd') }),
  fc.record({ op: fc.constant('left' as const), peer: fc.constantFrom('a', 'b', 'c', 'd') }),
  fc.record({ op: fc.constant('digest' as const), peer: fc.constantFrom('a', 'b', 'c', 'd'), fp: fc.nat(3) }),
  fc.record({ op: fc.constant('failed' as const), peer: fc.constantFrom('a', 'b', 'c', 'd') }),
  fc.record({ op: fc.constant('next' as const), mine: fc.nat(3) })
), { maxLength: 40 })

/** Replays `evs`; returns the neighbour set (joined or sent a digest, and not left since). */
function replay (pp: PartialPeers, evs: readonly PeerEvent[]): Set<string> {
  const neighbours = new Set<string>()
  for (const e of evs) {
    if (e.op === 'joined') { pp.joined(e.peer); neighbours.add(e.peer) }
    if (e.op === 'left') { pp.left(e.peer); neighbours.delete(e.peer) }
    if (e.op === 'digest') { pp.digest(e.peer, fp(e.fp)); neighbours.add(e.peer) }
    if (e.op === 'failed') pp.failed(e.peer)
    if (e.op === 'next') pp.next(fp(e.mine), idle)
  }
  return neighbours
}

test('neighbours take turns: each once, then none while neither digest changes', () => {
  fc.assert(fc.property(peerNames, fc.nat(5), (peers, rounds) => {
    const pp = new PartialPeers()
    for (const p of peers) pp.digest(p, fp(1))
    const first = drain(pp, fp(0))
    assert.deepEqual([...first].sort(), [...peers].sort(), 'every neighbour once')
    for (let r = 0; r < rounds; r++) assert.equal(pp.next(fp(0), idle), undefined, 'nothing changed: nothing due')
  }))
})

test('our digest changing makes every neighbour due again; a neighbour\'s digest changing makes only it due', () => {
  fc.assert(fc.property(peerNames, fc.nat(7), (peers, which) => {
    const pp = new PartialPeers()
    for (const p of peers) pp.digest(p, fp(1))
    drain(pp, fp(0))
    assert.deepEqual(drain(pp, fp(9)).sort(), [...peers].sort())
    const changed = peers[which % peers.length]
    pp.digest(changed, fp(2))
    assert.deepEqual(drain(pp, fp(9)), [changed])
    pp.digest(changed, fp(2)) // the same digest again is no change
    assert.equal(pp.next(fp(9), idle), undefined)
  }))
})

test('turns rotate: with everyone always due, n calls return n distinct neighbours', () => {
  fc.assert(fc.property(peerNames, fc.nat(20), (peers, start) => {
    const pp = new PartialPeers()
    for (const p of peers) pp.digest(p, fp(1))
    for (let i = 0; i < start; i++) pp.next(fp(100 + i), idle) // advance the turn arbitrarily
    // A new digest of ours each call: everyone is due, so only the turn decides.
    const got = peers.map((_, i) => pp.next(fp(200 + i), idle)?.peer)
    assert.equal(new Set(got).size, peers.length, `a neighbour twice before another: ${got.join(',')}`)
  }))
})

test('a busy neighbour is skipped and stays due', () => {
  const pp = new PartialPeers()
  pp.digest('a', fp(1))
  pp.digest('b', fp(1))
  assert.deepEqual(drain(pp, fp(0), p => p === 'a'), ['b'])
  assert.deepEqual(drain(pp, fp(0)), ['a'])
})

test('failed() makes a neighbour due again with nothing changed', () => {
  fc.assert(fc.property(peerNames, fc.nat(7), (peers, which) => {
    const pp = new PartialPeers()
    for (const p of peers) pp.digest(p, fp(1))
    drain(pp, fp(0))
    const failed = peers[which % peers.length]
    pp.failed(failed)
    assert.deepEqual(drain(pp, fp(0)), [failed])
  }))
})

test('a neighbour joined but not yet heard from is due once; a rejoin makes it due again', () => {
  const pp = new PartialPeers()
  pp.joined('a')
  assert.deepEqual(drain(pp, fp(0)), ['a'])
  pp.joined('a')
  assert.deepEqual(drain(pp, fp(0)), ['a'])
})

test('after any history: next returns only current neighbours, each at most once, and left() forgets', () => {
  fc.assert(fc.property(events, fc.constantFrom('a', 'b', 'c', 'd'), (evs, leaver) => {
    const pp = new PartialPeers()
    const neighbours = replay(pp, evs)
    const due = drain(pp, fp(7))
    assert.equal(new Set(due).size, due.length, 'no neighbour twice')
    for (const p of due) assert.ok(neighbours.has(p), `${p} is not a neighbour`)
    // Our new digest (never used in the history) makes every neighbour due: all of them, and only them.
    assert.deepEqual(drain(pp, fp(8)).sort(), [...neighbours].sort())
    pp.left(leaver)
    pp.failed(leaver) // a late failure of a session with a peer that left does not bring it back
    neighbours.delete(leaver)
    assert.deepEqual(drain(pp, fp(9)).sort(), [...neighbours].sort())
  }))
})

test('a want is answered at most once per key per WANT_ANSWER_MS', () => {
  fc.assert(fc.property(
    fc.array(fc.record({ dt: fc.nat(2 * WANT_ANSWER_MS), keys: fc.uniqueArray(fc.constantFrom('k1', 'k2', 'k3', 'k4'), { maxLength: 4 }) }), { maxLength: 30 }),
    fc.integer({ min: 0, max: 1e9 }),
    (calls, start) => {
      const wa = new WantAnswers()
      const last = new Map<string, number>()
      let now = start
      for (const { dt, keys } of calls) {
        now += dt
        const got = wa.take(keys, now)
        const expected = keys.filter(k => !last.has(k) || now - last.get(k)! >= WANT_ANSWER_MS)
        assert.deepEqual(got, expected)
        for (const k of got) last.set(k, now)
      }
    }))
})

test('answered keys are remembered up to a bound: the oldest are forgotten first', () => {
  const wa = new WantAnswers(Infinity)
  const many = Array.from({ length: 10_000 }, (_, i) => `k${i}`)
  assert.equal(wa.take(many, 0).length, many.length)
  // Far past the bound: the oldest answers are forgotten (answered again), the newest are remembered.
  assert.deepEqual(wa.take(['k0'], 1), ['k0'])
  assert.deepEqual(wa.take(['k9999', 'k9998'], 1), [])
  // Re-answering k0 made it the newest: it survives another round of fresh keys up to the bound.
  const fresh = Array.from({ length: 100 }, (_, i) => `f${i}`)
  wa.take(fresh, 2)
  assert.deepEqual(wa.take(['k0', 'f0'], 3), [])
  assert.deepEqual(wa.take(['k0'], 1 + WANT_ANSWER_MS), ['k0'])
})

test('wants flooding in are answered within a budget of keys per second, whoever sends them', () => {
  fc.assert(fc.property(
    fc.array(fc.record({ dt: fc.nat(300), count: fc.nat(3000) }), { minLength: 1, maxLength: 40 }),
    calls => {
      const wa = new WantAnswers()
      let now = 0
      let n = 0
      const answered: Array<[number, number]> = []
      for (const { dt, count } of calls) {
        now += dt
        const keys = Array.from({ length: count }, () => `k${n++}`) // all fresh: only the budget limits them
        answered.push([now, wa.take(keys, now).length])
      }
      // Over any window of a second, at most one second's budget plus what refills during it.
      for (const [t0] of answered) {
        const inWindow = answered.filter(([t]) => t >= t0 && t < t0 + 1000).reduce((a, [, k]) => a + k, 0)
        assert.ok(inWindow <= 2 * WANT_ANSWER_KEYS_PER_SECOND, `${inWindow} keys answered within a second`)
      }
    }))
  const wa = new WantAnswers(10)
  const keys = Array.from({ length: 50 }, (_, i) => `k${i}`)
  assert.equal(wa.take(keys, 0).length, 10)
  assert.equal(wa.take(keys, 0).length, 0, 'the budget is spent')
  assert.equal(wa.take(keys, 500).length, 5, 'half a second refills half of it')
  assert.equal(wa.take(keys, 10_000).length, 10, 'never more than a second\'s worth')
})

test('with full neighbours: only those that said they differ on our keys are due, each once per telling', () => {
  fc.assert(fc.property(peerNames, fc.array(fc.record({ i: fc.nat(7), same: fc.boolean() }), { maxLength: 30 }), (names, tellings) => {
    const pp = new PartialPeers()
    for (const n of names) { pp.joined(n); pp.digest(n, fp(1), true) }
    assert.equal(pp.next(fp(0), idle), undefined, 'nobody said it differs')
    const differ = new Set<string>()
    for (const { i, same } of tellings) {
      const peer = names[i % names.length]
      pp.scope(peer, same)
      if (same) differ.delete(peer); else differ.add(peer)
    }
    const got: string[] = []
    for (let p = pp.next(fp(0), idle); p !== undefined; p = pp.next(fp(0), idle)) {
      assert.equal(p.all, true)
      got.push(p.peer)
    }
    assert.deepEqual(got.sort(), [...differ].sort())
  }))
})

test('with full neighbours and wanted keys we lack: a neighbour whose digest changed is asked for those only', () => {
  const pp = new PartialPeers()
  pp.joined('f'); pp.digest('f', fp(1), true)
  assert.deepEqual(pp.next(fp(0), idle, ['w']), { peer: 'f', all: false })
  assert.equal(pp.next(fp(0), idle, ['w']), undefined, 'nothing changed since')
  pp.digest('f', fp(2), true)
  assert.deepEqual(pp.next(fp(0), idle, ['w']), { peer: 'f', all: false })
  assert.deepEqual(pp.next(fp(0), idle, ['w', 'v']), { peer: 'f', all: false }, 'another wanted key')
  pp.scope('f', false)
  assert.deepEqual(pp.next(fp(0), idle, ['w', 'v']), { peer: 'f', all: true }, 'it differs on our keys: all of them')
  pp.failed('f')
  assert.deepEqual(pp.next(fp(0), idle), { peer: 'f', all: true }, 'a failed session is tried again')
  pp.digest('f', fp(3), false) // it turned partial: back to turns
  assert.deepEqual(pp.next(fp(0), idle), { peer: 'f', all: true })
})

test('wants are rate-limited per asker: the same key is answered to each asker once per interval', () => {
  const wa = new WantAnswers()
  assert.deepEqual(wa.take(['k'], 0, 'p1'), ['k'])
  assert.deepEqual(wa.take(['k'], 0, 'p2'), ['k'])
  assert.deepEqual(wa.take(['k'], 0), ['k'], 'a published answer counts apart')
  assert.deepEqual(wa.take(['k'], 1, 'p1'), [])
  assert.deepEqual(wa.take(['k'], WANT_ANSWER_MS, 'p1'), ['k'])
})
