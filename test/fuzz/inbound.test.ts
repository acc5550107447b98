// The inbound fuzzer in CI (issue 11 §6): 5,000 random and mutated frames per message type through the daemon's
// inbound path in process (test/fuzz/fuzzer.ts), then the known cbor-x bombs, each refused in under 5 ms. No crash,
// no unhandled rejection, every frame that is no message refused where the daemon counts refusals, no frame over
// 50 ms of main-thread CPU, and afterwards every key held validates under its contract, before and after reopening
// the store. `npm run fuzz` runs the same with 100,000 frames per type; a failure prints the seed that replays it.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { MAX_BOMB_MS, checkBombs } from './bombs.ts'
import { type FuzzFailure, MAX_FRAME_CPU_MS, fuzzType, replayCommand } from './fuzzer.ts'
import { InboundTarget } from './inbound-target.ts'
import { FUZZ_TYPES } from './samples.ts'

const PER_TYPE = 5_000
const SEED = Number(process.env.MONOIDB_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32))
const rejections: unknown[] = []
const onRejection = (err: unknown): void => { rejections.push(err) }
process.on('unhandledRejection', onRejection)
const target = await InboundTarget.open(SEED)
after(async () => {
  process.off('unhandledRejection', onRejection)
  await target.close()
})

test(`${PER_TYPE} frames per message type through gossip and streams: all refused that should be, none slow (seed ${SEED})`, { timeout: 180_000 }, async t => {
  const failures: FuzzFailure[] = []
  for (const type of FUZZ_TYPES) {
    const { report, failures: f } = await fuzzType(target, type, { perType: PER_TYPE, seed: SEED })
    failures.push(...f)
    t.diagnostic(`${type}: ${report.frames} frames, ${report.noMessage} no message, ${report.refused} refused (${report.unread} unread), gossip from ${report.gossipPeers} identities; cpu max ${report.cpu.max.toFixed(1)} ms (frame ${report.slowest.frame}, ${report.slowest.kind}, ${report.slowest.entry}), wall max ${report.wall.max.toFixed(1)} ms, p99 ${report.wall.p99.toFixed(2)} ms`)
    assert.equal(report.frames, PER_TYPE)
    // The run must reach every entry point and both verdicts, or it proves little.
    assert.ok(report.noMessage > 0 && report.decoded > 0, `${type}: ${report.noMessage} frames no message, ${report.decoded} decoded`)
    assert.ok(report.refused >= report.noMessage - report.entries.stream * 0.05, `${type}: ${report.refused} refused of ${report.noMessage} that are no message`)
    // Read, not refused at the door: the decoders and validators are what is under test, not the gate or the bans.
    // (Gossip the gate ignores fails the run; a stream frame is refused unread only as the same large bytes sent
    // again, such as a whole message replaced by the same long string: about 1% of a type's stream frames.)
    assert.ok(report.unread <= report.entries.stream * 0.03, `${type}: ${report.unread} frames refused unread`)
    assert.ok(report.cpu.max <= MAX_FRAME_CPU_MS, `${type}: a frame took ${report.cpu.max.toFixed(1)} ms of CPU`)
  }
  assert.deepEqual(failures.map(f => `${f.type} frame ${f.frame} (${f.kind}, ${f.entry}): ${f.message} — replay: ${replayCommand(f)}`), [])
  assert.deepEqual(target.errors, [], 'errors raised inside the engine\'s queue')
})

test(`the known cbor-x bombs are each refused in under ${MAX_BOMB_MS} ms, by gossip and by stream`, async () => {
  const results = await checkBombs(target)
  assert.ok(results.length >= 40, `${results.length} bomb runs`)
  assert.deepEqual(results.filter(r => r.problem !== undefined).map(r => `${r.name} (${r.entry}): ${r.problem}`), [])
})

test('afterwards every key held is valid under its contract, and the store reopens with the same keys', async () => {
  const keys = await target.checkStore()
  assert.ok(keys > 0, 'valid pushes were merged')
  assert.deepEqual(rejections, [], 'unhandled rejections')
})
