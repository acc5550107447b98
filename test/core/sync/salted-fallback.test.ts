// When the salted fallback runs (core/sync/digest-doubt.ts) in a swarm that keeps writing: a key set whose
// range fingerprints collide is still found while other keys are written between sessions (review F2), and
// a pair of peers that differ only in a key no session can merge does not re-list its whole key space after
// every write (review F5b).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CONTRACT, counter, xorCollision } from './collisions.ts'
import { Net, stateBytes } from './harness.ts'

const names = (n: number, width = 5): string[] => Array.from({ length: n }, (_, i) => `k${String(i).padStart(width, '0')}`)
const saltedBytes = (net: Net): number => net.delivered.filter(e => e.type === 'salted').reduce((n, e) => n + e.bytes.length, 0)

test('colliding ranges are found while another key is written between every two sessions', async () => {
  // Every range a session compares matches (the colliding subset hides in the first of 16); meanwhile both
  // peers write one unrelated counter every 280 ms, pushed as usual, so both digests move all the time.
  const keys = names(16 * 130)
  const { subset } = xorCollision(keys, 130)
  const net = await Net.create(2, { seed: 12 })
  const [p0, p1] = net.peers
  await p0.store.mergeRemoteMany(keys.map(key => ({ key, contract: CONTRACT, delta: counter(1), origin: 'w' })))
  await p1.store.mergeRemoteMany(keys.map(key => ({ key, contract: CONTRACT, delta: counter(subset.has(key) ? 2 : 1), origin: 'w' })))
  net.queue.length = 0
  const differing = async (): Promise<number> => {
    const a = await stateBytes(p0); const b = await stateBytes(p1)
    return keys.filter(k => a.get(k) !== b.get(k)).length
  }
  assert.ok(await differing() > 0)
  let step = 0
  // At most ~67 s of simulated time; reading both stores is slow, so convergence is checked every 3.4 s.
  for (; step < 240 && (step % 12 !== 0 || await differing() > 0); step++) {
    await net.write(step % 2 === 0 ? 'p0' : 'p1', 'zz-tick', 'g-counter', 'inc', [])
    await net.advance(280)
    await net.deliver()
  }
  const salted = net.peers.reduce((n, p) => n + p.engine.stats().perType.salted.messagesSent, 0)
  assert.equal(await differing(), 0, `after ${step} steps, ${salted} salted messages: the colliding keys still differ`)
  assert.ok(salted >= 1)
})

test('a key bound to different contracts on two peers: salted lists back off, however often others write', async () => {
  const N = 3000
  const keys = names(N, 6)
  const net = await Net.create(2, { seed: 3 })
  const [p0, p1] = net.peers
  for (const p of net.peers) await p.store.mergeRemoteMany(keys.map(key => ({ key, contract: CONTRACT, delta: counter(1), origin: 'w' })))
  await p0.store.update('squatted', 'g-counter', 'inc', [1])
  await p1.store.update('squatted', 'g-set', 'add', ['x'])
  net.queue.length = 0
  // One full salted walk of the key space costs about this much (key, hash, framing).
  const pass = N * (7 + 3 + 8)
  const bursts = 16
  for (let burst = 0; burst < bursts; burst++) {
    await net.write(burst % 2 === 0 ? 'p0' : 'p1', `w${burst}`, 'g-counter', 'inc', []) // one ordinary write
    for (let i = 0; i < 20; i++) { await net.advance(280); await net.deliver() } // ~5.6 s
  }
  const bytes = saltedBytes(net)
  const sessions = net.peers.reduce((n, p) => n + p.engine.stats().sessionsCompleted, 0)
  const walks = `${bursts} bursts, ${sessions} sessions: salted lists cost ${bytes} B, ${(bytes / pass).toFixed(1)} walks of the key space`
  // Without a back-off, each burst (a new pair of digests) costs one walk: ~16 here.
  assert.ok(bytes <= 6 * pass, walks)
  // The squatted key does not hide the pair from the fallback either: it is left out of the doubt, and walks still run.
  assert.ok(bytes >= pass, walks)
  // The ordinary writes still reach both peers.
  const a = await stateBytes(p0); const b = await stateBytes(p1)
  for (let burst = 0; burst < bursts; burst++) assert.equal(a.get(`w${burst}`), b.get(`w${burst}`))
})

test('a squatted key does not hide colliding ranges: keys no session can merge are left out of the doubt', async () => {
  // 20,000 keys, so sessions narrow down to the squatted key by summaries and name it as differing on both
  // sides; a session that finds only it must still count as finding nothing. Writes go on meanwhile.
  const keys = names(20_000, 6)
  const { subset } = xorCollision(keys, 140)
  const net = await Net.create(2, { seed: 5 })
  const [p0, p1] = net.peers
  await p0.store.mergeRemoteMany(keys.map(key => ({ key, contract: CONTRACT, delta: counter(1), origin: 'w' })))
  await p1.store.mergeRemoteMany(keys.map(key => ({ key, contract: CONTRACT, delta: counter(subset.has(key) ? 2 : 1), origin: 'w' })))
  await p0.store.update('squatted', 'g-counter', 'inc', [1])
  await p1.store.update('squatted', 'g-set', 'add', ['x'])
  net.queue.length = 0
  // Only the colliding keys are compared (reading 20,000 states each time would be slow).
  const summaryOf = async (p: typeof p0, key: string): Promise<string> => JSON.stringify((await p.store.summary(key))?.summary)
  const differing = async (): Promise<number> => {
    let n = 0
    for (const k of subset) if (await summaryOf(p0, k) !== await summaryOf(p1, k)) n++
    return n
  }
  assert.ok(await differing() > 0)
  let step = 0
  for (; step < 240 && (step % 6 !== 0 || await differing() > 0); step++) {
    await net.write(step % 2 === 0 ? 'p0' : 'p1', 'zz-tick', 'g-counter', 'inc', [])
    await net.advance(280)
    await net.deliver()
  }
  assert.equal(await differing(), 0, `after ${step} steps the colliding keys still differ`)
})
