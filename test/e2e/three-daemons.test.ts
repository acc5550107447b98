// Three real daemons on 127.0.0.1: a write on A reaches a watcher on B within 2 s, C fetches a key it never
// touched, and concurrent pn-counter / or-set writes on all three converge to the computed value everywhere.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { type DaemonProcess, daemonFixtures, sortedJson, untilMeshed } from '../helpers/daemon-fixtures.ts'
import { until } from '../helpers/node-fixtures.ts'

const fx = await daemonFixtures('three')
let a: DaemonProcess, b: DaemonProcess, c: DaemonProcess
before(async () => {
  a = await fx.start()
  b = await fx.start({ bootstrap: [a.info.multiaddrs[0]] })
  c = await fx.start({ bootstrap: [a.info.multiaddrs[0], b.info.multiaddrs[0]] })
  await untilMeshed([a, b, c], 15_000)
}, { timeout: 40_000 })
after(async () => { await fx.cleanup() })

test('an update on A reaches a watcher on B within 2 s; C gets a key it never touched', { timeout: 20_000 }, async t => {
  const key = 'e2e/three/watched'
  const watching = new AbortController()
  const timeout = setTimeout(() => { watching.abort() }, 10_000)
  const events = b.client.watch(key, { signal: watching.signal })[Symbol.asyncIterator]()
  try {
    const first = await events.next() // the stream is open and subscribed once the current value arrives
    assert.deepEqual(first.value, { key, contract: null, value: null }, 'B does not hold the key yet')

    // Record when B sees the value, independently of when A answers.
    const seenOnB = (async () => {
      for (;;) {
        const e = await events.next()
        if (e.done === true) throw new Error('the watch on B ended before the update arrived')
        if (JSON.stringify(e.value.value) === '["hello"]') return { at: Date.now(), event: e.value }
      }
    })()
    const written = await a.client.update(key, 'or-set', 'add', ['hello'])
    const ackedAt = Date.now()
    assert.deepEqual(written.value, ['hello'])
    const { at, event } = await seenOnB
    t.diagnostic(`A → B: ${at - ackedAt} ms after A's 200`)
    assert.ok(at - ackedAt < 2_000, `B saw the update ${at - ackedAt} ms after A acknowledged it`)
    // With the id of A's write when its push brought the change; a session that came first names none (B's journal says which).
    let records = (await b.client.journal({ key, peer: a.info.peerId })).records
    await until('B\'s journal to record the change', async () => (records = (await b.client.journal({ key, peer: a.info.peerId })).records).some(r => r.kind === 'merged' && r.changed))
    const by = records.find(r => r.kind === 'merged' && r.changed)
    assert.ok(by?.kind === 'merged', JSON.stringify(records))
    assert.deepEqual(event, { key, contract: { id: 'or-set' }, value: ['hello'], origin: a.info.peerId, writes: by.path === 'push' ? [written.write] : [] })
  } finally {
    clearTimeout(timeout)
    watching.abort()
    await events.return?.()
  }

  // C has never written, read or watched the key: its GET (default wait) has to obtain it from a peer.
  const asked = Date.now()
  const got = await c.client.get(key)
  t.diagnostic(`C's GET: ${Date.now() - asked} ms`)
  assert.deepEqual(got, { key, contract: { id: 'or-set' }, value: ['hello'] })
})

test('concurrent pn-counter and or-set updates on all three daemons converge to the expected value on each', { timeout: 30_000 }, async () => {
  const counterKey = 'e2e/three/counter'
  const setKey = 'e2e/three/set'
  const daemons = [a, b, c]
  const names = ['a', 'b', 'c']
  let expectedCount = 0
  const expectedSet: string[] = []

  // Each daemon: 20 counter ops (inc j+1, every fourth a dec), all in flight at once; 10 adds of its own
  // elements, then removes of the first 5 of them (sequenced after their adds, so the removes observe them).
  const work = daemons.map(async (d, i) => {
    const counterOps = Array.from({ length: 20 }, (_, j) => ({ op: j % 4 === 3 ? 'dec' : 'inc', n: j + 1 + i }))
    for (const { op, n } of counterOps) expectedCount += op === 'inc' ? n : -n
    const elements = Array.from({ length: 10 }, (_, j) => `${names[i]}-${j}`)
    expectedSet.push(...elements.slice(5))
    const counting = Promise.all(counterOps.map(async ({ op, n }) => await d.client.update(counterKey, 'pn-counter', op, [n])))
    const setting = (async () => {
      await Promise.all(elements.map(async e => await d.client.update(setKey, 'or-set', 'add', [e])))
      await Promise.all(elements.slice(0, 5).map(async e => await d.client.update(setKey, 'or-set', 'remove', [e])))
    })()
    await Promise.all([counting, setting])
  })
  await Promise.all(work)
  // Daemon i: incs sum to 150 + 15i, decs to 60 + 5i; 90 + 10i net, 300 over all three.
  assert.equal(expectedCount, 300)
  assert.equal(expectedSet.length, 15)

  const values = async (key: string): Promise<string[]> => await Promise.all(daemons.map(async d => sortedJson((await d.client.get(key)).value)))
  const wantCount = JSON.stringify(expectedCount)
  const wantSet = sortedJson(expectedSet)
  let last: string[] = []
  await until('every daemon to hold the expected counter and set', async () => {
    last = [...await values(counterKey), ...await values(setKey)]
    return last.every((v, i) => v === (i < 3 ? wantCount : wantSet))
  }, 10_000).catch(err => { throw new Error(`${(err as Error).message}; A, B, C hold ${last.join(' | ')}; want ${wantCount} and ${wantSet}`) })
  for (const d of daemons) assert.equal(d.proc.exitCode, null, `${d.dir} still running: ${d.output()}`)
})
