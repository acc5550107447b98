import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Network } from '../../sim/network.ts'
import { Random } from '../../sim/random.ts'

const quiet = { drop: 0, dup: 0, delayMs: 0 }

test('a split closes exactly the connections across it, and only the last heal reopens them', () => {
  const n = new Network(4, new Random(1), quiet)
  assert.deepEqual(n.neighbours(0), [1, 2, 3])
  assert.deepEqual(n.split([0, 1]), [[0, 2], [0, 3], [1, 2], [1, 3]])
  assert.deepEqual(n.neighbours(0), [1])
  assert.deepEqual(n.split([0]), [[0, 1]]) // overlapping: 0–2 and 0–3 were already cut
  assert.deepEqual(n.heal([0, 1]), [[1, 2], [1, 3]]) // 0 stays isolated by the second split
  assert.deepEqual(n.heal([0]), [[0, 1], [0, 2], [0, 3]])
  assert.throws(() => n.heal([0]))
})

test('messages across a split, a one-way block or to a peer that is down find no connection', () => {
  const n = new Network(3, new Random(1), quiet)
  n.block([0])
  assert.deepEqual(n.transmit(0, 1, 10), [])
  assert.equal(n.transmit(1, 0, 10).length, 1) // the other direction still works
  assert.equal(n.connected(0, 1), true) // and the connection looks up
  n.block([0], -1)
  assert.equal(n.transmit(0, 1, 10).length, 1)
  assert.deepEqual(n.setUp(2, false), [0, 1])
  assert.deepEqual(n.transmit(0, 2, 10), [])
  assert.equal(n.canDeliver(0, 2), false)
  assert.deepEqual(n.setUp(2, true), [0, 1])
  assert.equal(n.unreachable, 2)
  assert.equal(n.traffic[0].messagesSent, 3)
  assert.equal(n.traffic[0].bytesSent, 30)
})

test('drop and duplicate rates and delays follow the faults', () => {
  const n = new Network(2, new Random(3), { drop: 0.2, dup: 0.5, delayMs: 100 })
  let lost = 0; let twice = 0
  const N = 20_000
  for (let i = 0; i < N; i++) {
    const d = n.transmit(0, 1, 1)
    if (d.length === 0) lost++
    if (d.length === 2) twice++
    for (const x of d) assert.ok(x >= 1 && x <= 101)
  }
  assert.ok(Math.abs(lost / N - 0.2) < 0.02, `lost ${lost / N}`)
  assert.ok(Math.abs(twice / (N - lost) - 0.5) < 0.02, `duplicated ${twice / (N - lost)}`)
})
