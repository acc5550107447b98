/**
 * The node's Prometheus metrics (README "Metrics"), in a registry of their own (not prom-client's global
 * one: two nodes in one process must not mix). Deltas, repairs, refusals, wants and write-to-merge
 * latency are counted from the sync journal as it records them; everything else (traffic per message
 * type, sessions, keys, peers, the engine's, store's and host's counters) is read from `stats()` and
 * `status()` when scraped, so the sync path pays one listener call per journal record and nothing else.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Counter, Gauge, type Metric, Registry } from 'prom-client'
import type { JournalRecord } from '../core/sync/journal.ts'
import { MESSAGE_TYPES } from '../core/sync/messages.ts'
import type { MonoidbNode } from './node.ts'

/** What metrics read of a node (a MonoidbNode has it all). */
export type MetricsSource = Pick<MonoidbNode, 'journal' | 'stats' | 'status' | 'peers'>

/** Write-to-merge latency buckets, seconds: a push on a LAN lands in the first few, a repair after a partition in the last. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

export interface NodeMetrics {
  readonly registry: Registry
  /** The Content-Type of `render()`'s text. */
  readonly contentType: string
  /** The exposition text, every gauge read now. */
  render: () => Promise<string>
  /** Stops counting (journal listener, event-loop monitor). */
  close: () => void
}

export function createMetrics (node: MetricsSource): NodeMetrics {
  const registry = new Registry()
  const registers = [registry]

  // ---- counted from the journal, as it records -------------------------------------------------------
  // Plain tallies here (a map update per record), handed to prom-client only when scraped: its inc() and
  // observe() cost about a microsecond each, too much on the path every delta takes.
  const deltaCounts = new Map<string, [Record<string, string>, number]>()
  const tally = (map: Map<string, [Record<string, string>, number]>, key: string, labels: () => Record<string, string>, n = 1): void => {
    const t = map.get(key)
    if (t === undefined) map.set(key, [labels(), n]); else t[1] += n
  }
  const repairCounts = new Map<string, [Record<string, string>, number]>()
  const wantCounts = new Map<string, [Record<string, string>, number]>()
  const sessionKeyCounts = new Map<string, [Record<string, string>, number]>()
  const sessionByteCounts = new Map<string, [Record<string, string>, number]>()
  const kindCounts = new Map<string, [Record<string, string>, number]>()
  /** Per path: observations in each bucket (not cumulative; the last is +Inf), their sum and count. */
  const latency = new Map<string, { buckets: number[], sum: number, count: number }>()
  const observe = (path: string, seconds: number): void => {
    let h = latency.get(path)
    if (h === undefined) latency.set(path, h = { buckets: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 })
    let i = 0
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++
    h.buckets[i]++
    h.sum += seconds
    h.count++
  }

  const count = (r: JournalRecord): void => {
    tally(kindCounts, r.kind, () => ({ kind: r.kind }))
    switch (r.kind) {
      case 'merged': {
        const result = r.changed ? 'merged' : 'redundant'
        tally(deltaCounts, `${result} ${r.path}`, () => ({ result, path: r.path }))
        if (r.changed && (r.path === 'repair' || r.path === 'catch-up')) tally(repairCounts, r.path, () => ({ path: r.path }))
        // Clocks differ between machines: a write "after" its merge is skew, counted as 0.
        if (r.writtenAt !== undefined) observe(r.path, Math.max(0, r.at - r.writtenAt) / 1000)
        break
      }
      case 'refused': tally(deltaCounts, `refused ${r.path} ${r.reason}`, () => ({ result: 'refused', path: r.path, reason: r.reason })); break
      case 'want-sent': tally(wantCounts, 'sent', () => ({ direction: 'sent' })); break
      case 'want-answered': tally(wantCounts, 'answered', () => ({ direction: 'answered' })); break
      case 'session':
        tally(sessionKeyCounts, 'received', () => ({ direction: 'received' }), r.keysReceived)
        tally(sessionKeyCounts, 'changed', () => ({ direction: 'changed' }), r.keysChanged)
        tally(sessionKeyCounts, 'sent', () => ({ direction: 'sent' }), r.keysSent)
        tally(sessionByteCounts, 'in', () => ({ direction: 'in' }), r.bytesIn)
        tally(sessionByteCounts, 'out', () => ({ direction: 'out' }), r.bytesOut)
        break
      default: break
    }
  }
  const unsubscribe = node.journal.subscribe(count)

  // Counters kept outside prom-client: set to their totals at each scrape (reset, then inc: prom-client counters have no set).
  const setCounter = (c: Counter<string>, values: Iterable<readonly [Record<string, string>, number]>): void => {
    c.reset()
    for (const [labels, v] of values) if (Number.isFinite(v) && v >= 0) c.inc(labels, v)
  }
  const tallied = (name: string, help: string, labelNames: string[], map: Map<string, [Record<string, string>, number]>): void => {
    new Counter({ name, help, labelNames, registers, collect () { setCounter(this, map.values()) } })
  }
  tallied('monoidb_deltas_total', 'Deltas received, by result (merged: changed state; redundant: changed nothing; refused), by path (push, repair, catch-up, want) and, when refused, by reason.', ['result', 'path', 'reason'], deltaCounts)
  tallied('monoidb_repairs_total', 'Deltas that changed state and arrived by anti-entropy (path repair or catch-up) rather than by push: each one is a push that went missing.', ['path'], repairCounts)
  tallied('monoidb_wants_total', 'Wants of keys this peer lacks, sent (asked) and answered (for peers).', ['direction'], wantCounts)
  tallied('monoidb_session_keys_total', 'Keys in ended reconciliation sessions: received, changed here (repaired), sent.', ['direction'], sessionKeyCounts)
  tallied('monoidb_session_bytes_total', 'Bytes of ended reconciliation sessions, in and out.', ['direction'], sessionByteCounts)
  tallied('monoidb_journal_records_total', 'Records the sync journal took, by kind.', ['kind'], kindCounts)
  registry.registerMetric(latencyHistogram('monoidb_write_to_merge_seconds', 'Time from a write on its writer to its merge here (receivers only; clocks of different machines: skew shifts it), by path.', latency))

  // ---- read when scraped -----------------------------------------------------------------------------
  // Counters kept by the node itself, set to its totals at each scrape.
  new Counter({
    name: 'monoidb_messages_total',
    help: 'Sync protocol messages sent (out) and received (in), by message type.',
    labelNames: ['direction', 'type'] as const,
    registers,
    collect () {
      const { perType } = node.stats().sync
      setCounter(this, MESSAGE_TYPES.flatMap(type => [[{ direction: 'in', type }, perType[type].messagesReceived], [{ direction: 'out', type }, perType[type].messagesSent]]))
    }
  })
  new Counter({
    name: 'monoidb_message_bytes_total',
    help: 'Bytes of sync protocol messages sent (out) and received (in), by message type.',
    labelNames: ['direction', 'type'] as const,
    registers,
    collect () {
      const { perType } = node.stats().sync
      setCounter(this, MESSAGE_TYPES.flatMap(type => [[{ direction: 'in', type }, perType[type].bytesReceived], [{ direction: 'out', type }, perType[type].bytesSent]]))
    }
  })
  new Counter({
    name: 'monoidb_sessions_total',
    help: 'Reconciliation sessions this peer started (started), and how those ended: completed, timed_out, dropped (lost a tie-break, or the peer left).',
    labelNames: ['result'] as const,
    registers,
    collect () {
      const s = node.stats().sync
      setCounter(this, [[{ result: 'started' }, s.sessionsStarted], [{ result: 'completed' }, s.sessionsCompleted], [{ result: 'timed_out' }, s.sessionsTimedOut], [{ result: 'dropped' }, s.sessionsDropped]])
    }
  })
  new Counter({
    name: 'monoidb_stats_total',
    help: 'Every counter of the node\'s stats() (README "Counters"), by group (sync, store, host, binding) and name: new counters appear here without a release of the metrics.',
    labelNames: ['group', 'name'] as const,
    registers,
    collect () {
      const stats = node.stats()
      const values: Array<[Record<string, string>, number]> = []
      for (const group of ['sync', 'store', 'host', 'binding'] as const) {
        for (const [name, v] of Object.entries(stats[group])) if (typeof v === 'number') values.push([{ group, name }, v])
      }
      setCounter(this, values)
    }
  })

  // Gauges from status(), read once per scrape however many gauges use it (in render).
  const keys = new Gauge({ name: 'monoidb_keys', help: 'Keys held.', registers })
  const sessions = new Gauge({ name: 'monoidb_sessions', help: 'Reconciliation sessions in flight (either side started them).', registers })
  const differing = new Gauge({ name: 'monoidb_keys_differing', help: 'Keys the running sessions found to differ from a peer and have not exchanged yet (summed over sessions).', registers })
  new Gauge({ name: 'monoidb_peers', help: 'Peers connected.', registers, collect () { this.set(node.peers().length) } })

  const LOOP_RESOLUTION_MS = 10
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  loop.enable()
  new Gauge({
    name: 'monoidb_event_loop_lag_seconds',
    help: 'Event-loop delay since the previous scrape, beyond the 10 ms sampling interval (perf_hooks monitorEventLoopDelay): mean, p50, p99, max.',
    labelNames: ['stat'] as const,
    registers,
    collect () {
      // The monitor records each timer interval whole: the lag is what passes the sampling interval.
      const s = (ns: number): number => Number.isFinite(ns) ? Math.max(0, ns / 1e9 - LOOP_RESOLUTION_MS / 1000) : 0
      const none = loop.count === 0
      this.set({ stat: 'mean' }, none ? 0 : s(loop.mean))
      this.set({ stat: 'p50' }, none ? 0 : s(loop.percentile(50)))
      this.set({ stat: 'p99' }, none ? 0 : s(loop.percentile(99)))
      this.set({ stat: 'max' }, none ? 0 : s(loop.max))
      loop.reset()
    }
  })

  return {
    registry,
    contentType: registry.contentType,
    async render () {
      const status = await node.status()
      keys.set(status.keys)
      sessions.set(status.sessions.length)
      differing.set(status.sessions.reduce((n, s) => n + s.keysPending, 0))
      return await registry.metrics()
    },
    close () {
      unsubscribe()
      loop.disable()
    }
  }
}

/**
 * A histogram over tallies kept outside prom-client, as a metric its registry formats: cumulative
 * `_bucket{le}` series, `_sum` and `_count`, per path.
 */
function latencyHistogram (name: string, help: string, tallies: ReadonlyMap<string, { buckets: number[], sum: number, count: number }>): Metric {
  const values = (): Array<{ metricName: string, labels: Record<string, string | number>, value: number }> => {
    const out: Array<{ metricName: string, labels: Record<string, string | number>, value: number }> = []
    for (const [path, h] of tallies) {
      let cumulative = 0
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += h.buckets[i]
        out.push({ metricName: `${name}_bucket`, labels: { le, path }, value: cumulative })
      })
      out.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', path }, value: h.count })
      out.push({ metricName: `${name}_sum`, labels: { path }, value: h.sum })
      out.push({ metricName: `${name}_count`, labels: { path }, value: h.count })
    }
    return out
  }
  const metric = { name, help, type: 'histogram', aggregator: 'sum', get: async () => ({ name, help, type: 'histogram', aggregator: 'sum', values: values() }), reset () {} }
  return metric as unknown as Metric
}
