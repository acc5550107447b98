import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ALL_FAULTS, MAX_DROP, MAX_DUP, MAX_SKEW_MS, NO_FAULTS, checkSchedule, drawSchedule, formatFaults, lastFaultEnd, parseFaults } from '../../sim/faults.ts'
import { Random } from '../../sim/random.ts'

test('parseFaults reads the issue example and round-trips through formatFaults', () => {
  const spec = parseFaults('drop=0.2,dup=0.2,partition')
  assert.deepEqual(spec, { ...NO_FAULTS, drop: 0.2, dup: 0.2, partition: true })
  assert.deepEqual(parseFaults(formatFaults(spec)), spec)
  assert.deepEqual(parseFaults('random'), ALL_FAULTS)
  assert.deepEqual(parseFaults(formatFaults(ALL_FAULTS)), ALL_FAULTS)
  assert.deepEqual(parseFaults('none'), NO_FAULTS)
  assert.deepEqual(parseFaults('drop,crash'), { ...NO_FAULTS, drop: true, crash: true })
})

test('parseFaults names what is wrong', () => {
  assert.throws(() => parseFaults('drop=0.9'), /drop.*0\.\.0\.3/)
  assert.throws(() => parseFaults('dup=x'), /dup/)
  assert.throws(() => parseFaults('flood'), /unknown fault "flood"/)
  assert.throws(() => parseFaults('partition=1'), /takes no value/)
  assert.throws(() => parseFaults('drop=1=2'), /more than one/)
})

test('drawn schedules stay in range, end by the horizon, and pass checkSchedule', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 2, max: 20 }), fc.integer({ min: 10, max: 10_000 }), (seed, peers, horizon) => {
    const s = drawSchedule(new Random(seed), ALL_FAULTS, peers, horizon)
    checkSchedule(s, peers)
    assert.ok(s.drop <= MAX_DROP && s.dup <= MAX_DUP && s.skewMs.every(x => Math.abs(x) <= MAX_SKEW_MS))
    assert.ok(lastFaultEnd(s) <= horizon)
    for (const p of s.partitions) assert.ok(p.side.length < peers, 'a partition leaves someone on the other side')
    assert.deepEqual(drawSchedule(new Random(seed), ALL_FAULTS, peers, horizon), s)
  }))
})

test('fixed values are kept and disabled faults are off', () => {
  const s = drawSchedule(new Random(9), parseFaults('drop=0.2,dup=0.1'), 5, 1000)
  assert.equal(s.drop, 0.2)
  assert.equal(s.dup, 0.1)
  assert.equal(s.delayMs, 0)
  assert.deepEqual(s.skewMs, [0, 0, 0, 0, 0])
  assert.deepEqual(s.partitions, [])
  assert.deepEqual(s.crashes, [])
})

test('checkSchedule refuses malformed schedules', () => {
  const good = drawSchedule(new Random(1), ALL_FAULTS, 3, 1000)
  assert.throws(() => { checkSchedule({ ...good, drop: 0.5 }, 3) }, /drop/)
  assert.throws(() => { checkSchedule({ ...good, skewMs: [0] }, 3) }, /skewMs/)
  assert.throws(() => { checkSchedule({ ...good, partitions: [{ kind: 'split', side: [7], at: 0, heal: 1 }] }, 3) }, /side/)
  assert.throws(() => { checkSchedule({ ...good, partitions: [{ kind: 'split', side: [0], at: 5, heal: 1 }] }, 3) }, /heal/)
  assert.throws(() => { checkSchedule({ ...good, crashes: [{ peer: 0, at: 0, downMs: -1, inflightOp: false }] }, 3) }, /crash/)
})
