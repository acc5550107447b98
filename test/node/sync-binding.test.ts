// The binding with a scripted engine: one call at a time, actions carried, ticks on time, errors survived.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { SyncEngine } from '../../core/sync/engine.ts'
import type { SyncAction } from '../../core/sync/types.ts'
import { SyncBinding, type SyncTransport } from '../../node/sync-binding.ts'

/** An engine stand-in that records calls, checks none overlap, and takes a while over each. */
class ScriptedEngine {
  calls: string[] = []
  inFlight = 0
  maxInFlight = 0
  wakeAt: number | undefined
  ticks: number[] = []
  closed = false
  failNext = false

  async #step (name: string, actions: SyncAction[] = []): Promise<SyncAction[]> {
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    this.calls.push(name)
    await new Promise(resolve => setTimeout(resolve, 2))
    this.inFlight--
    if (this.failNext) { this.failNext = false; throw new Error(`${name} failed`) }
    return actions
  }

  localUpdate (key: string): SyncAction[] { this.calls.push(`local ${key}`); this.wakeAt = Date.now() + 15; return [] }
  async receive (from: string, bytes: Uint8Array): Promise<SyncAction[]> { return await this.#step(`receive ${from} ${bytes.length}`, [{ type: 'send', to: from, bytes: Uint8Array.of(1) }]) }
  peerJoined (peer: string): SyncAction[] { this.calls.push(`joined ${peer}`); return [{ type: 'send', to: peer, bytes: Uint8Array.of(2) }] }
  peerLeft (peer: string): SyncAction[] { this.calls.push(`left ${peer}`); return [] }
  subscribed (key: string): SyncAction[] { this.calls.push(`subscribed ${key}`); return [{ type: 'publish', topic: 'digest', bytes: Uint8Array.of(3) }] }
  async tick (now: number): Promise<SyncAction[]> {
    this.ticks.push(now)
    this.wakeAt = undefined
    return await this.#step('tick', [{ type: 'publish', topic: 'push', bytes: Uint8Array.of(4) }])
  }

  nextWakeup (): number | undefined { return this.wakeAt }
  close (): void { this.closed = true }
}

function recorder (): SyncTransport & { sent: string[] } {
  const sent: string[] = []
  return { sent, publish: (topic, bytes) => { sent.push(`publish ${topic} ${bytes[0]}`) }, send: (peer, bytes) => { sent.push(`send ${peer} ${bytes[0]}`) } }
}

test('engine calls run one at a time, in arrival order, and their actions reach the transport', async () => {
  const engine = new ScriptedEngine()
  const transport = recorder()
  const binding = new SyncBinding(engine as unknown as SyncEngine, transport, {})
  await Promise.all([
    binding.receive('p1', new Uint8Array(5)),
    binding.peerJoined('p2'),
    binding.receive('p2', new Uint8Array(7)),
    binding.subscribed('k'),
    binding.peerLeft('p1')
  ])
  assert.equal(engine.maxInFlight, 1)
  assert.deepEqual(engine.calls, ['receive p1 5', 'joined p2', 'receive p2 7', 'subscribed k', 'left p1'])
  assert.deepEqual(transport.sent, ['send p1 1', 'send p2 2', 'send p2 1', 'publish digest 3'])
  await binding.stop()
  assert.ok(engine.closed)
})

test('the timer ticks the engine at its next wakeup, with the wall clock', async () => {
  const engine = new ScriptedEngine()
  const transport = recorder()
  const binding = new SyncBinding(engine as unknown as SyncEngine, transport, {})
  binding.start()
  const before = Date.now()
  await binding.localUpdate('k', { id: 'g-counter' }, [])
  const due = engine.wakeAt as number
  while (engine.ticks.length === 0 && Date.now() < due + 2_000) await new Promise(resolve => setTimeout(resolve, 5))
  await new Promise(resolve => setTimeout(resolve, 30))
  assert.equal(engine.ticks.length, 1, 'one wakeup, one tick')
  assert.ok(engine.ticks[0] >= due && engine.ticks[0] >= before + 15, `ticked at +${engine.ticks[0] - before} ms, due at +${due - before}`)
  assert.deepEqual(transport.sent, ['publish push 4'])
  await binding.stop()
  engine.wakeAt = Date.now()
  await new Promise(resolve => setTimeout(resolve, 20))
  assert.equal(engine.ticks.length, 1, 'no tick after stop')
})

test('an engine call that throws is reported, and the queue goes on', async () => {
  const engine = new ScriptedEngine()
  const errors: unknown[] = []
  const binding = new SyncBinding(engine as unknown as SyncEngine, recorder(), { onError: err => { errors.push(err) } })
  engine.failNext = true
  await binding.receive('p1', new Uint8Array(1))
  await binding.receive('p1', new Uint8Array(2))
  assert.equal(errors.length, 1)
  assert.match(String(errors[0]), /receive p1 1 failed/)
  assert.equal(binding.stats().errors, 1)
  assert.deepEqual(engine.calls, ['receive p1 1', 'receive p1 2'])
  await binding.stop()
})

test('peer messages beyond the queue bound are dropped and counted', async () => {
  const engine = new ScriptedEngine()
  const binding = new SyncBinding(engine as unknown as SyncEngine, recorder(), { maxQueued: 3 })
  await Promise.all(Array.from({ length: 5 }, async (_, i) => { await binding.receive('flood', new Uint8Array(i)) }))
  assert.equal(engine.calls.length, 3)
  assert.equal(binding.stats().inboundDropped, 2)
  await binding.stop()
})

test('the engine\'s reports of misbehaving peers reach the transport; bytes it found no message resolve receive to false', async () => {
  const engine = new ScriptedEngine()
  const reports: string[] = []
  const transport = { ...recorder(), misbehaved: (peer: string, what: string) => { reports.push(`${peer} ${what}`) } }
  const binding = new SyncBinding(engine as unknown as SyncEngine, transport, {})
  // The engine reports from inside its call, as SyncOptions.onMisbehaviour does.
  const receive = engine.receive.bind(engine)
  engine.receive = async (from: string, bytes: Uint8Array) => {
    if (bytes[0] === 0xff) binding.misbehaved(from, 'bad_message')
    if (bytes[0] === 0xfe) binding.misbehaved(from, 'bytes')
    return await receive(from, bytes)
  }
  assert.equal(await binding.receive('evil', Uint8Array.of(0xff)), false, 'no message')
  assert.equal(await binding.receive('evil', Uint8Array.of(0xfe)), true, 'refused for its limits, but a message')
  assert.equal(await binding.receive('good', Uint8Array.of(1)), true)
  assert.deepEqual(reports, ['evil bad_message', 'evil bytes'])
  await binding.stop()
})

test('a relay is published only while some peer lacks its topic, and its bytes are made only then', async () => {
  let read = 0
  const relay: SyncAction = { type: 'relay', topic: 'push', lacking: 'writes', get bytes () { read++; return Uint8Array.of(9) } }
  const engine = new ScriptedEngine()
  engine.subscribed = () => [relay]
  let lacking = false
  const asked: string[] = []
  const transport = { ...recorder(), lacksTopic: (topic: string, heard: string) => { asked.push(`${topic} ${heard}`); return lacking } }
  const binding = new SyncBinding(engine as unknown as SyncEngine, transport, {})
  await binding.subscribed('k')
  assert.deepEqual(transport.sent, [])
  assert.equal(read, 0, 'not encoded when nobody needs it')
  lacking = true
  await binding.subscribed('k')
  assert.deepEqual(transport.sent, ['publish push 9'])
  assert.deepEqual(asked, ['writes push', 'writes push'])
  await binding.stop()
})
