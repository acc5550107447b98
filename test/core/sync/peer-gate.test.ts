import assert from 'node:assert/strict'
import { test } from 'node:test'
import { resolveConfig } from '../../../core/sync/config.ts'
import { PeerGate } from '../../../core/sync/peer-gate.ts'
import { emptyStats } from '../../../core/sync/stats.ts'

const config = resolveConfig({ antiEntropyMs: 1_000, peerSessionsPerPeriod: 2, peerBytesPerSec: 1_000 })

test('questions have a bucket of their own: a peer that spent it still opens sessions, and each refusal is counted and reported', () => {
  const stats = emptyStats()
  const reported: string[] = []
  const gate = new PeerGate(config, stats, (peer, what) => { reported.push(`${peer}:${what}`) })
  const admitted = Array.from({ length: 10 }, () => gate.admitQuestion('p', 0)).filter(Boolean).length
  assert.equal(admitted, 4, 'twice the per-period rate at once')
  assert.equal(stats.requestsRefused, 6)
  assert.deepEqual(new Set(reported), new Set(['p:sessions']))
  assert.equal(gate.budgets.openSession('p', 0), true, 'sessions untouched by questions')
  assert.equal(gate.admitQuestion('q', 0), true, 'another peer is not held back')
  assert.equal(gate.costs().p?.refused?.sessions, 6)
})

test('answers are charged to the asker\'s bytes: past its allowance the next is refused; what actions send to it is charged too', () => {
  const stats = emptyStats()
  const gate = new PeerGate(config, stats, undefined)
  assert.equal(gate.chargeAnswer('p', 5_000, 0), true, 'the first answer goes out, and puts the peer in debt')
  assert.equal(gate.chargeAnswer('p', 10, 0), false)
  assert.equal(stats.requestsRefused, 1)
  gate.chargeSent('q', [{ type: 'send', to: 'q', bytes: new Uint8Array(4_000) }, { type: 'send', to: 'other', bytes: new Uint8Array(9_999) }], 0)
  assert.ok(gate.budgets.allowance('q', 0) <= 0, 'what went to q is charged to q')
  assert.ok(gate.budgets.allowance('other', 0) > 0, 'and nothing to the others')
})

test('a reporter that throws does not stop the gate', () => {
  const gate = new PeerGate(config, emptyStats(), () => { throw new Error('boom') })
  assert.doesNotThrow(() => gate.refuse('p', 'bytes', 0))
})
