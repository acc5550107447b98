// Peer-side limit flags (node/limit-flags.ts) and createNode's limits (node/peer-limit-options.ts): each flag
// reaches its setting; a bad value is a usage error naming the flag; bad limits are a TypeError naming the limit.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { UsageError, parseDaemonArgs } from '../../node/daemon-args.ts'
import { LIMIT_FLAGS } from '../../node/limit-flags.ts'
import { PEER_LIMIT_DEFAULTS, connectionManagerFor, resolvePeerLimits, streamLimitsFor, tcpFor } from '../../node/peer-limit-options.ts'
import { resolveConfig } from '../../core/sync/config.ts'

test('every limit flag reaches its setting', () => {
  const argv = Object.keys(LIMIT_FLAGS).flatMap((f, i) => [`--${f}`, String(1000 + i)])
  const o = parseDaemonArgs(argv)
  assert.ok(o !== 'help')
  assert.deepEqual(o.limits, { maxPeers: 1000, maxPendingPeers: 1001, inboundPerSecond: 1002, peerStreams: 1003, peerStrikes: 1004, peerBanMs: 1005_000 })
  assert.deepEqual(o.sync, { peerBytesPerSec: 1006, peerSessionsPerPeriod: 1007, peerUnackedBytes: 1008, wantKeysPerSec: 1009 })
  const plain = parseDaemonArgs([])
  assert.ok(plain !== 'help')
  assert.equal(plain.limits, undefined)
  assert.equal(plain.sync, undefined)
})

test('a bad limit flag is a usage error naming it', () => {
  for (const bad of ['0', '-1', '1.5', 'ten', '', '1e3']) {
    assert.throws(() => parseDaemonArgs([`--peer-streams=${bad}`]), (e: Error) => e instanceof UsageError && e.message.includes('--peer-streams') && e.message.includes('whole number'), `--peer-streams ${bad}`)
  }
})

test('limits: defaults, overrides, and what libp2p, TCP and the streams are given', () => {
  assert.deepEqual(resolvePeerLimits(), PEER_LIMIT_DEFAULTS)
  const l = resolvePeerLimits({ maxPeers: 10, maxPendingPeers: 3, peerStreams: 2, peerBanMs: 500 })
  assert.equal(connectionManagerFor(l).maxConnections, 10)
  assert.equal(connectionManagerFor(l).maxIncomingPendingConnections, 3)
  assert.equal(tcpFor(l).maxConnections, 13)
  assert.deepEqual({ ...streamLimitsFor(l), onBan: undefined }, { maxInboundStreams: 2, maxStrikes: PEER_LIMIT_DEFAULTS.peerStrikes, banMs: 500, onBan: undefined })
  assert.throws(() => resolvePeerLimits({ maxPeers: 0 }), /limit maxPeers must be a whole number ≥ 1, got 0/)
  assert.throws(() => resolvePeerLimits({ peerStreams: 2.5 }), /peerStreams/)
  assert.throws(() => resolvePeerLimits({ maxPeer: 3 } as never), /unknown limit\(s\) maxPeer/)
})

test('sync wantKeysPerSec: default 4096, must be above 0', () => {
  assert.equal(resolveConfig({}).wantKeysPerSec, 4096)
  assert.equal(resolveConfig({ wantKeysPerSec: 10 }).wantKeysPerSec, 10)
  assert.throws(() => resolveConfig({ wantKeysPerSec: 0 }), /wantKeysPerSec must be above 0/)
})
