// node/metrics.ts over a real Journal and stand-in stats: what each journal record counts, what is read
// at scrape time, and the strict exposition checker (test/helpers/prometheus.ts) against what it must catch.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Journal } from '../../core/sync/journal.ts'
import { emptyStats } from '../../core/sync/stats.ts'
import { createMetrics, type MetricsSource } from '../../node/metrics.ts'
import { parseMetrics, total } from '../helpers/prometheus.ts'

function source (): { src: MetricsSource, journal: Journal, sync: ReturnType<typeof emptyStats> } {
  const journal = new Journal(100)
  const sync = emptyStats()
  const session = { peer: 'P', role: 'responder' as const, pull: false, startedAt: 0, keysDiffering: 10, keysReceived: 3, keysSent: 0, keysPending: 7, bytesIn: 1, bytesOut: 2, requestsIn: 1, requestsDue: 2 }
  const src = {
    journal,
    stats: () => ({ sync, store: { updates: 4, merges: 2, redundantMerges: 0, contractMismatches: 0, batches: 1, batchOps: 1 }, host: { gossipRejected: 0, invalidPushes: 0, largePushes: 0, unjudgedPushes: 0, publishFailures: 0, framesReceived: 9, framesRefused: 0, streamsRefused: 0, sendsDropped: 0 }, binding: { inboundDropped: 0, errors: 0 }, peers: {}, clockSkew: [] }),
    status: async () => ({ keys: 42, sessions: [session, { ...session, keysPending: 1 }] }),
    peers: () => [{ peerId: 'P' }, { peerId: 'Q' }]
  } as unknown as MetricsSource
  return { src, journal, sync }
}

test('journal records count as deltas by result, path and reason; repairs only for changed repair and catch-up deltas; latency from writtenAt', async () => {
  const { src, journal } = source()
  const m = createMetrics(src)
  try {
    const base = { key: 'k', peer: 'P', writes: ['r1/1'], bytes: 10 }
    journal.record({ kind: 'merged', ...base, path: 'push', changed: true, writtenAt: 1_000 }, 1_040) // 40 ms
    journal.record({ kind: 'merged', ...base, path: 'push', changed: false }, 2_000)
    journal.record({ kind: 'merged', ...base, path: 'repair', changed: true, writtenAt: 1_000 }, 3_000) // 2 s
    journal.record({ kind: 'merged', ...base, path: 'repair', changed: false }, 3_000) // redundant: no repair
    journal.record({ kind: 'merged', ...base, path: 'catch-up', changed: true, writtenAt: 5_000 }, 4_000) // skew: counted as 0
    journal.record({ kind: 'merged', ...base, path: 'want', changed: true }, 4_000) // a want answer is no repair
    journal.record({ kind: 'refused', key: 'k', peer: 'P', path: 'push', reason: 'invalid', message: 'bad' }, 5_000)
    journal.record({ kind: 'written', key: 'k', peer: 'me', path: 'local', writes: ['r0/1'], bytes: 3 }, 5_000)
    journal.record({ kind: 'session', key: '', peer: 'P', keysReceived: 5, keysChanged: 2, keysSent: 1, bytesIn: 100, bytesOut: 50, ok: true }, 6_000)
    journal.record({ kind: 'want-sent', key: 'k', peer: '*' }, 6_000)
    const text = await m.render()
    const p = parseMetrics(text)
    assert.equal(total(p, 'monoidb_deltas_total', { result: 'merged', path: 'push' }), 1)
    assert.equal(total(p, 'monoidb_deltas_total', { result: 'redundant' }), 2)
    assert.equal(total(p, 'monoidb_deltas_total', { result: 'merged' }), 4)
    assert.equal(total(p, 'monoidb_deltas_total', { result: 'refused', path: 'push', reason: 'invalid' }), 1)
    assert.equal(total(p, 'monoidb_repairs_total'), 2, 'the changed repair and the changed catch-up')
    assert.equal(total(p, 'monoidb_repairs_total', { path: 'catch-up' }), 1)
    const h = p.get('monoidb_write_to_merge_seconds')!
    assert.equal(h.type, 'histogram')
    const push = h.histograms.find(x => x.labels.path === 'push')!
    assert.equal(push.count, 1)
    assert.ok(Math.abs(push.sum - 0.04) < 1e-9, `push sum ${push.sum}`)
    assert.equal(push.buckets['0.025'], 0)
    assert.equal(push.buckets['0.05'], 1)
    assert.equal(h.histograms.find(x => x.labels.path === 'repair')!.sum, 2)
    assert.equal(h.histograms.find(x => x.labels.path === 'catch-up')!.sum, 0, 'a write stamped after its merge (skew) counts as 0')
    assert.equal(total(p, 'monoidb_session_keys_total', { direction: 'changed' }), 2)
    assert.equal(total(p, 'monoidb_session_bytes_total', { direction: 'in' }), 100)
    assert.equal(total(p, 'monoidb_wants_total', { direction: 'sent' }), 1)
    assert.equal(total(p, 'monoidb_journal_records_total'), 10)
  } finally {
    m.close()
  }
  // Closed: no longer counting.
  journal.record({ kind: 'want-sent', key: 'k', peer: '*' }, 7_000)
  assert.equal(total(parseMetrics(await m.render()), 'monoidb_wants_total'), 1)
})

test('scrape-time figures: traffic by type, sessions, stats counters, keys, sessions running, keys differing, peers, event-loop lag', async () => {
  const { src, sync } = source()
  const m = createMetrics(src)
  try {
    sync.perType.digest.messagesSent = 3
    sync.perType.digest.bytesSent = 120
    sync.perType.deltas.messagesReceived = 2
    sync.perType.deltas.bytesReceived = 5000
    sync.sessionsStarted = 4
    sync.sessionsTimedOut = 1
    sync.deltasReceived = 7
    const p = parseMetrics(await m.render())
    assert.equal(total(p, 'monoidb_messages_total', { direction: 'out', type: 'digest' }), 3)
    assert.equal(total(p, 'monoidb_message_bytes_total', { direction: 'in', type: 'deltas' }), 5000)
    assert.equal(total(p, 'monoidb_messages_total', { direction: 'in' }), 2)
    assert.equal(total(p, 'monoidb_sessions_total', { result: 'started' }), 4)
    assert.equal(total(p, 'monoidb_sessions_total', { result: 'timed_out' }), 1)
    assert.equal(total(p, 'monoidb_stats_total', { group: 'sync', name: 'deltasReceived' }), 7)
    assert.equal(total(p, 'monoidb_stats_total', { group: 'host', name: 'framesReceived' }), 9)
    assert.equal(total(p, 'monoidb_keys'), 42)
    assert.equal(total(p, 'monoidb_sessions'), 2)
    assert.equal(total(p, 'monoidb_keys_differing'), 8)
    assert.equal(total(p, 'monoidb_peers'), 2)
    for (const stat of ['mean', 'p50', 'p99', 'max']) assert.ok(total(p, 'monoidb_event_loop_lag_seconds', { stat }) >= 0)
    for (const [name, fam] of p) {
      assert.ok(name.startsWith('monoidb_'), `${name} lacks the prefix`)
      assert.ok(fam.help.length > 0, `${name} has no help`)
    }
    // Counters follow the node's totals from scrape to scrape.
    sync.perType.digest.messagesSent = 10
    assert.equal(total(parseMetrics(await m.render()), 'monoidb_messages_total', { direction: 'out', type: 'digest' }), 10)
  } finally {
    m.close()
  }
})

test('two nodes\' metrics in one process do not mix: each has its own registry', async () => {
  const a = source(); const b = source()
  const ma = createMetrics(a.src); const mb = createMetrics(b.src)
  try {
    a.journal.record({ kind: 'want-sent', key: 'k', peer: '*' }, 1)
    assert.equal(total(parseMetrics(await ma.render()), 'monoidb_wants_total'), 1)
    assert.equal(total(parseMetrics(await mb.render()), 'monoidb_wants_total'), 0)
  } finally {
    ma.close(); mb.close()
  }
})

test('the exposition checker refuses what is not valid exposition', () => {
  assert.throws(() => parseMetrics('a_total{x="1" 3\n'), /invalid line/)
  assert.throws(() => parseMetrics('# TYPE a counter\na{x="1"} notanumber\n'), /not a number/)
  assert.throws(() => parseMetrics('a 1\n'), /needs a # TYPE line/)
  assert.throws(() => parseMetrics('# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'), /\+Inf bucket/)
  assert.throws(() => parseMetrics('# TYPE h histogram\nh_bucket{le="1",p="a"} 1\nh_bucket{le="+Inf",p="a"} 1\nh_count{p="a"} 1\n'), /_sum per label set/)
  assert.equal(parseMetrics('# TYPE a counter\na{x="1"} 1e3\n').get('a')!.samples[0].value, 1000)
})

test('event-loop lag: a loop blocked for 200 ms shows in max; the next scrape starts afresh', async () => {
  const { src } = source()
  const m = createMetrics(src)
  try {
    await m.render() // starts a fresh window
    await new Promise(resolve => setTimeout(resolve, 30)) // the monitor's timer is running
    const end = Date.now() + 200
    while (Date.now() < end) { /* blocked */ }
    await new Promise(resolve => setTimeout(resolve, 30))
    const lag = total(parseMetrics(await m.render()), 'monoidb_event_loop_lag_seconds', { stat: 'max' })
    assert.ok(lag >= 0.1, `a 200 ms block showed as ${lag} s`)
    const after = total(parseMetrics(await m.render()), 'monoidb_event_loop_lag_seconds', { stat: 'max' })
    assert.ok(after < lag, `the window was not reset: ${after} s`)
  } finally {
    m.close()
  }
})
