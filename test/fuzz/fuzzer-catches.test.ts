// The fuzzer's checks are only as good as the broken daemons they catch: a stand-in inbound path that accepts a
// frame that is no message, that counts nothing on a stream, that throws inside its queue, or that blocks the event
// loop, must each make the fuzzer report failures (with a replay command); the real path (inbound.test.ts) must not.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { createRegistry } from '../../contracts/index.ts'
import { decodeMessage } from '../../core/sync/messages.ts'
import { type FuzzTarget, cpuMs, fuzzType, makeAuthors, replayCommand } from './fuzzer.ts'
import type { Counters } from './inbound-target.ts'

/** Blocks the thread for `ms` of its own CPU time (wall time would depend on how busy the machine is). */
function busy (ms: number): void {
  const end = cpuMs() + ms
  while (cpuMs() < end) { /* spin */ }
}

type Flaw = 'accepts-garbage' | 'counts-nothing-on-streams' | 'throws' | 'stalls'

/** A stand-in for the inbound path that counts like the daemon, except for `flaw`. */
function brokenTarget (flaw: Flaw): FuzzTarget {
  const counters: Counters = {
    host: { framesReceived: 0, framesRefused: 0, streamsRefused: 0, sendsDropped: 0, gossipRejected: 0, invalidPushes: 0, largePushes: 0, unjudgedPushes: 0, publishFailures: 0, refusalBans: 0, gossipGraylisted: 0, gossipOverRate: 0 },
    sync: { badMessages: 0 } as Counters['sync'],
    inspect: { asked: 0, answered: 0, refused: 0, dropped: 0 },
    published: 0,
    sent: 0
  }
  const errors: unknown[] = []
  let n = 0
  const isMessage = (b: Uint8Array): boolean => { try { decodeMessage(b); return true } catch { return false } }
  return {
    peerId: 'stand-in',
    registry: createRegistry(),
    errors,
    counters: () => structuredClone(counters),
    async gossip (_topic, _author, data) {
      if (flaw === 'stalls' && data.length % 101 === 0) busy(80) // the same bytes stall every time
      if (flaw === 'throws' && n++ % 50 === 0) errors.push(new Error('a stand-in error'))
      if (flaw === 'accepts-garbage' || isMessage(data)) return TopicValidatorResult.Accept
      counters.host.gossipRejected++
      counters.sync.badMessages++
      return TopicValidatorResult.Reject
    },
    async frame () {
      if (flaw === 'counts-nothing-on-streams') return 0
      counters.host.framesRefused++
      return 0
    }
  }
}

for (const [flaw, expect] of [
  ['accepts-garbage', /no message, accepted on/],
  ['counts-nothing-on-streams', /stream/],
  ['throws', /the engine's queue raised/],
  ['stalls', /of main-thread CPU \(over 50 ms; the least of 3 runs\)/]
] as const) {
  test(`the fuzzer catches a daemon that ${flaw.replaceAll('-', ' ')}`, async () => {
    const { failures } = await fuzzType(brokenTarget(flaw), flaw === 'counts-nothing-on-streams' ? 'ack' : 'digest', { perType: 400, seed: 1, authors: await makeAuthors(1), maxFailures: 10_000 })
    assert.ok(failures.some(f => expect.test(f.message)), `expected a failure matching ${String(expect)}, got ${JSON.stringify(failures.slice(0, 3).map(f => f.message))}`)
    assert.match(replayCommand(failures[0]), /^npm run fuzz -- --seed 1 --per-type 400 --until \w+:\d+$/)
  })
}
