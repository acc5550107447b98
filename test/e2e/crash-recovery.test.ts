// A daemon SIGKILLed in the middle of its writes, restarted on the same data folder, catches up by
// anti-entropy alone, and every write it acknowledged before the kill reaches the others.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { MonoidbClient } from '../../node/client.ts'
import { daemonFixtures, sortedJson, untilMeshed } from '../helpers/daemon-fixtures.ts'
import { until } from '../helpers/node-fixtures.ts'

const fx = await daemonFixtures('crash')
after(async () => { await fx.cleanup() })

const SET = 'e2e/crash/set'
const COUNTER = 'e2e/crash/counter'

/** Writes until stopped, one at a time; returns what the daemon acknowledged (200) and how many it was sent. */
function writeStream (write: (i: number) => Promise<unknown>): { acked: number[], sent: () => number, stop: () => Promise<void> } {
  const acked: number[] = []
  let i = 0
  let stopped = false
  const done = (async () => {
    while (!stopped) {
      const n = i++
      try {
        await write(n)
        acked.push(n)
      } catch {
        return // the daemon died mid-request: this write is unacknowledged
      }
    }
  })()
  return { acked, sent: () => i, stop: async () => { stopped = true; await done } }
}

test('SIGKILL B mid-writes; A and C write on; B restarted on its folder converges with no new write and lost no acknowledged write', { timeout: 40_000 }, async t => {
  const a = await fx.start()
  const b = await fx.start({ bootstrap: [a.info.multiaddrs[0]] })
  const c = await fx.start({ bootstrap: [a.info.multiaddrs[0], b.info.multiaddrs[0]] })
  await untilMeshed([a, b, c], 15_000)

  // A and C write both keys first, so each holds them under partial replication too.
  for (const [d, name] of [[a, 'a'], [c, 'c']] as const) {
    await d.client.update(SET, 'g-set', 'add', [`${name}-first`])
    await d.client.update(COUNTER, 'pn-counter', 'inc', [1])
  }

  // B: two streams of writes (a g-set add of b-i per write; a pn-counter inc 1 per write), killed mid-stream.
  const adds = writeStream(async i => await b.client.update(SET, 'g-set', 'add', [`b-${i}`]))
  const incs = writeStream(async () => await b.client.update(COUNTER, 'pn-counter', 'inc', [1]))
  await until('B to acknowledge some of each kind of write', () => adds.acked.length >= 20 && incs.acked.length >= 20, 10_000)
  await b.kill('SIGKILL')
  await Promise.all([adds.stop(), incs.stop()])
  t.diagnostic(`B acknowledged ${adds.acked.length}/${adds.sent()} adds and ${incs.acked.length}/${incs.sent()} incs before the kill`)
  assert.ok(adds.sent() > adds.acked.length || incs.sent() > incs.acked.length, 'B was killed with a write in flight')

  // More writes on A and C to the same keys while B is down.
  for (const [d, name] of [[a, 'a'], [c, 'c']] as const) {
    await Promise.all(Array.from({ length: 10 }, async (_, i) => {
      await d.client.update(SET, 'g-set', 'add', [`${name}-${i}`])
      await d.client.update(COUNTER, 'pn-counter', 'inc', [1])
    }))
  }

  // The killed run left its daemon.pid behind: the restart takes it over.
  assert.equal((await readFile(join(b.dir, 'daemon.pid'), 'utf8')).trim(), String(b.proc.pid))
  const b2 = await fx.start({ dir: b.dir, bootstrap: [a.info.multiaddrs[0], c.info.multiaddrs[0]] })
  assert.equal(b2.info.peerId, b.info.peerId, 'the same peer key from the same folder')
  assert.equal((await readFile(join(b.dir, 'daemon.pid'), 'utf8')).trim(), String(b2.proc.pid))

  // No write anywhere from here on: B only reads, and anti-entropy (1 s period) has to bring everyone level.
  const clients: Array<[string, MonoidbClient]> = [['A', a.client], ['B', b2.client], ['C', c.client]]
  let held: string[] = []
  await until('A, B and C to hold the same set and counter', async () => {
    held = await Promise.all(clients.flatMap(([, cl]) => [SET, COUNTER].map(async k => sortedJson((await cl.get(k)).value))))
    return held[0] === held[2] && held[2] === held[4] && held[1] === held[3] && held[3] === held[5]
  }, 15_000).catch(err => { throw new Error(`${(err as Error).message}; A, B, C hold ${held.join(' | ')}`) })

  const set = new Set((await a.client.get(SET)).value as string[])
  for (const name of ['a', 'c']) {
    for (const e of [`${name}-first`, ...Array.from({ length: 10 }, (_, i) => `${name}-${i}`)]) assert.ok(set.has(e), `${e} missing`)
  }
  for (const [d, who] of [[a, 'A'], [c, 'C']] as const) {
    const onIt = new Set((await d.client.get(SET)).value as string[])
    const lost = adds.acked.filter(i => !onIt.has(`b-${i}`))
    assert.deepEqual(lost, [], `B's acknowledged adds missing on ${who}`)
  }
  // B's unacknowledged in-flight adds may or may not have committed; nothing else of B's is there.
  const fromB = [...set].filter(e => e.startsWith('b-')).map(e => Number(e.slice(2)))
  assert.ok(fromB.every(i => i < adds.sent()), `elements B was never sent: ${fromB.filter(i => i >= adds.sent()).join(', ')}`)

  // Counter: 2 × 11 incs from A and C, plus B's acknowledged incs, plus at most its in-flight ones.
  const count = (await c.client.get(COUNTER)).value as number
  const floor = 22 + incs.acked.length
  assert.ok(count >= floor && count <= 22 + incs.sent(), `counter ${count}, expected ${floor}..${22 + incs.sent()}`)
})
