// The fuzzer's checks are only as good as the broken daemons they catch: a stand-in inbound path that accepts a
// frame that is no message, that counts nothing on a stream, that throws inside its queue, or that blocks the event
// loop, must each make the fuzzer report failures (with a replay command); the real path (inbound.test.ts) must not.
// So must one that refuses everything at its gossip gate (the fuzzer would then test the gate alone), and one that
// resets streams carrying valid messages while claiming an invalid state it never counted.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { createRegistry } from '../../contracts/index.ts'
import { decodeMessage } from '../../core/sync/messages.ts'
import { type FuzzTarget, cpuMs, fuzzType, replayCommand } from './fuzzer.ts'
import type { Counters } from './inbound-target.ts'

/** Blocks the thread for `ms` of its own CPU time (wall time would depend on how busy the machine is). */
function busy (ms: number): void {
  const end = cpuMs() + ms
  while (cpuMs() < end) { /* spin */ }
}

/** Bytes of a frame's varint length prefix. */
function lengthOfPrefix (raw: Uint8Array): number {
  let i = 0
  while (i < raw.length && raw[i] >= 0x80) i++
  return i + 1
}

type Flaw = 'accepts-garbage' | 'counts-nothing-on-streams' | 'throws' | 'stalls' | 'ignores-gossip-unread' | 'refuses-valid-frames'

/** A stand-in for the inbound path that counts like the daemon, except for `flaw`. */
function brokenTarget (flaw: Flaw): FuzzTarget {
  const counters: Counters = {
    host: { framesReceived: 0, framesRefused: 0, streamsRefused: 0, sendsDropped: 0, gossipRejected: 0, invalidPushes: 0, largePushes: 0, unjudgedPushes: 0, publishFailures: 0, refusalBans: 0, gossipGraylisted: 0, gossipOverRate: 0 },
    sync: { badMessages: 0, messagesReceived: 0, rejectedDeltas: 0 } as Counters['sync'],
    inspect: { asked: 0, answered: 0, refused: 0, dropped: 0 },
    published: 0,
    sent: 0
  }
  const errors: unknown[] = []
  let n = 0
  const stallers = new Set<string>()
  const isMessage = (b: Uint8Array): boolean => { try { decodeMessage(b); return true } catch { return false } }
  return {
    peerId: 'stand-in',
    registry: createRegistry(),
    errors,
    counters: () => structuredClone(counters),
    async gossip (_topic, _author, data) {
      // The same bytes stall every time (the fuzzer sends a slow frame again); two kinds of bytes, to keep the test short.
      const hex = Buffer.from(data).toString('hex')
      if (flaw === 'stalls' && data.length % 37 === 0 && stallers.size < 2) stallers.add(hex)
      if (stallers.has(hex)) busy(80)
      if (flaw === 'throws' && n++ % 50 === 0) errors.push(new Error('a stand-in error'))
      if (flaw === 'ignores-gossip-unread') {
        counters.host.gossipRejected++
        counters.host.gossipGraylisted++
        return TopicValidatorResult.Ignore
      }
      if (flaw === 'accepts-garbage' || isMessage(data)) return TopicValidatorResult.Accept
      counters.host.gossipRejected++
      counters.sync.badMessages++
      return TopicValidatorResult.Reject
    },
    async frame (_peer, raw) {
      if (flaw === 'counts-nothing-on-streams') return 0
      if (flaw === 'refuses-valid-frames') {
        // Counts as the daemon does (a frame read, a bad one counted by the engine), but resets every stream.
        counters.host.framesReceived++
        counters.sync.messagesReceived++
        if (!isMessage(raw.subarray(lengthOfPrefix(raw)))) counters.sync.badMessages++
      }
      counters.host.framesRefused++
      return 0
    }
  }
}

for (const [flaw, expect] of [
  ['accepts-garbage', /no message, accepted on/],
  ['counts-nothing-on-streams', /stream/],
  ['throws', /the engine's queue raised/],
  ['stalls', /of main-thread CPU \(over 50 ms; the least of 3 runs\)/],
  ['ignores-gossip-unread', /its frames went unread \(a fuzzer bug\)/],
  ['refuses-valid-frames', /a message on a stream was refused/]
] as const) {
  test(`the fuzzer catches a daemon that ${flaw.replaceAll('-', ' ')}`, async () => {
    const { failures } = await fuzzType(brokenTarget(flaw), flaw === 'counts-nothing-on-streams' || flaw === 'refuses-valid-frames' ? 'ack' : 'digest', { perType: 400, seed: 1, maxFailures: 10_000 })
    assert.ok(failures.some(f => expect.test(f.message)), `expected a failure matching ${String(expect)}, got ${JSON.stringify(failures.slice(0, 3).map(f => f.message))}`)
    assert.match(replayCommand(failures[0]), /^npm run fuzz -- --seed 1 --per-type 400 --until \w+:\d+$/)
  })
}
