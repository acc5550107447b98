// A peer joining with 10,000 keys to fetch shows its progress: B (empty) catches up from A (10,000 keys)
// while the test polls B's status, and `monoidb status --watch` runs against B; the figures move.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createNode } from '../../node/node.ts'
import type { SessionProgress } from '../../core/sync/session-progress.ts'
import { daemonFixtures } from '../helpers/daemon-fixtures.ts'
import { until } from '../helpers/node-fixtures.ts'

const cliPath = fileURLToPath(new URL('../../node/cli.ts', import.meta.url))
const KEYS = 10_000
/** Values big enough that the catch-up takes several messages and sessions (peers send about 1 MiB/s each). */
const VALUE = 'v'.repeat(400)

const fx = await daemonFixtures('catch-up')
after(async () => { await fx.cleanup() })

test('a catch-up of 10,000 keys: B\'s status shows its sessions\' figures moving, and status --watch draws them', { timeout: 180_000 }, async t => {
  // A's keys are written in-process (no HTTP round trip per key), then A runs as a daemon on that folder.
  const first = await fx.start()
  assert.equal(await first.stop(), 0)
  const seed = await createNode({ dataDir: first.dir, durability: 'process' })
  const started = Date.now()
  // In bursts: the store commits a burst of writes together.
  for (let i = 0; i < KEYS; i += 250) {
    await Promise.all(Array.from({ length: 250 }, async (_, j) => await seed.update(`c/${String(i + j).padStart(5, '0')}`, 'lww-register', 'set', [VALUE])))
  }
  await seed.stop()
  t.diagnostic(`seeded ${KEYS} keys in ${Date.now() - started} ms`)
  const a = await fx.start({ dir: first.dir })

  // B starts empty and catches up from A at once: the whole catch-up happens while we poll.
  const b = await fx.start({ bootstrap: [a.info.multiaddrs[0]], args: ['--replicate-all'] })
  const watcher = spawn(process.execPath, [cliPath, 'status', '--watch', '--data', b.dir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let watched = ''
  watcher.stdout.on('data', c => { watched += String(c) })
  const watcherExit = new Promise<number | null>(resolve => watcher.once('exit', resolve))
  try {
    const seen: SessionProgress[] = []
    const keysSeen = new Set<number>()
    const catchUpStart = Date.now()
    await until(`B to hold ${KEYS} keys`, async () => {
      const s = await b.client.status()
      keysSeen.add(s.keys)
      seen.push(...s.sessions)
      return s.keys === KEYS
    }, 150_000)
    t.diagnostic(`caught up in ${Date.now() - catchUpStart} ms; ${seen.length} session snapshots, key counts seen: ${[...keysSeen].join(', ')}`)
    const withA = seen.filter(s => s.peer === a.info.peerId)
    assert.ok(withA.length === seen.length && seen.length >= 2, `B's status showed ${seen.length} session snapshots: ${JSON.stringify(seen.slice(0, 3))}`)
    assert.ok(seen.every(s => s.keysDiffering >= s.keysReceived && s.bytesIn >= 0 && s.keysPending >= 0), JSON.stringify(seen.slice(0, 3)))
    // The figures move: within a session (bytes, then keys, arrive), and from session to session (fewer keys differ).
    assert.ok(new Set(seen.map(s => `${s.keysDiffering}/${s.keysReceived}/${s.bytesIn}`)).size >= 3, `the figures did not move: ${JSON.stringify(seen.slice(0, 5))}`)
    assert.ok(seen.some(s => s.keysReceived > 0 && s.keysReceived < KEYS), 'no snapshot showed keys received part way')
    const differing = seen.map(s => s.keysDiffering)
    assert.ok(differing[0] > differing[differing.length - 1], `keys known to differ did not go down: ${[...new Set(differing)].join(', ')}`)
    assert.ok(differing[0] >= KEYS * 0.9, `the first session knew of only ${differing[0]} differing keys`)
    assert.ok(keysSeen.size >= 3, `B's key count moved through ${[...keysSeen].join(', ')}`)
    await until('B\'s sessions to end', async () => (await b.client.status()).sessions.length === 0, 30_000)
    // The watcher, on a pipe, prints a block each time something changed: several, with bars.
    await until('status --watch to show that no session runs', () => watched.endsWith('no session running\n\n'), 10_000)
  } finally {
    watcher.kill('SIGINT')
  }
  assert.equal(await watcherExit, 0, 'status --watch ends cleanly on SIGINT')
  const bars = watched.split('\n').filter(l => /^(catch-up from|session with|session from) \S+ \[[#.]{30}\] +\d+%/.test(l))
  assert.ok(bars.length >= 2, `status --watch drew ${bars.length} progress lines:\n${watched.slice(0, 2000)}`)
  assert.ok(new Set(bars.map(l => l.replace(/ {2}[\d.]+ s$/, ''))).size >= 2, `the bars did not move:\n${bars.join('\n')}`)
  t.diagnostic(`status --watch drew, among others:\n${bars.slice(0, 4).join('\n')}`)
})
