/**
 * The node's Prometheus metrics (README "Metrics"), in a registry of their own (not prom-client's global
 * one: two nodes in one process must not mix). Deltas, repairs, refusals, wants and write-to-merge
 * latency are counted from the sync journal as it records them; everything else (traffic per message
 * type, sessions, keys, peers, the engine's, store's and host's counters) is read from `stats()` and
 * `status()` when scraped, so the sync path pays one listener call per journal record and nothing else.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
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

  // ---- counted from the journal, as it records --------------------------------------------------------
  const deltas = new Counter({ name: 'monoidb_deltas_total', help: 'Deltas received, by result (merged: changed state; redundant: changed nothing; refused), by path (push, repair, catch-up, want) and, when refused, by reason.', labelNames: ['result', 'path', 'reason'] as const, registers })
  const repairs = new Counter({ name: 'monoidb_repairs_total', help: 'Deltas that changed state and arrived by anti-entropy (path repair or catch-up) rather than by push: each one is a push that went missing.', labelNames: ['path'] as const, registers })
  const latency = new Histogram({ name: 'monoidb_write_to_merge_seconds', help: 'Time from a write on its writer to its merge here (receivers only; clocks of different machines: skew shifts it), by path.', labelNames: ['path'] as const, buckets: LATENCY_BUCKETS, registers })
  const wants = new Counter({ name: 'monoidb_wants_total', help: 'Wants of keys this peer lacks, sent (asked) and answered (for peers).', labelNames: ['direction'] as const, registers })
  const sessionKeys = new Counter({ name: 'monoidb_session_keys_total', help: 'Keys in ended reconciliation sessions: received, changed here (repaired), sent.', labelNames: ['direction'] as const, registers })
  const sessionBytes = new Counter({ name: 'monoidb_session_bytes_total', help: 'Bytes of ended reconciliation sessions, in and out.', labelNames: ['direction'] as const, registers })
  const journalRecords = new Counter({ name: 'monoidb_journal_records_total', help: 'Records the sync journal took, by kind.', labelNames: ['kind'] as const, registers })

  const count = (r: JournalRecord): void => {
    journalRecords.inc({ kind: r.kind })
    switch (r.kind) {
      case 'merged':
        deltas.inc({ result: r.changed ? 'merged' : 'redundant', path: r.path })
        if (r.changed && (r.path === 'repair' || r.path === 'catch-up')) repairs.inc({ path: r.path })
        // Clocks differ between machines: a write "after" its merge is skew, counted as 0.
        if (r.writtenAt !== undefined) latency.observe({ path: r.path }, Math.max(0, r.at - r.writtenAt) / 1000)
        break
      case 'refused': deltas.inc({ result: 'refused', path: r.path, reason: r.reason }); break
      case 'want-sent': wants.inc({ direction: 'sent' }); break
      case 'want-answered': wants.inc({ direction: 'answered' }); break
      case 'session':
        sessionKeys.inc({ direction: 'received' }, r.keysReceived)
        sessionKeys.inc({ direction: 'changed' }, r.keysChanged)
        sessionKeys.inc({ direction: 'sent' }, r.keysSent)
        sessionBytes.inc({ direction: 'in' }, r.bytesIn)
        sessionBytes.inc({ direction: 'out' }, r.bytesOut)
        break
      default: break
    }
  }
  const unsubscribe = node.journal.subscribe(count)

  // ---- read when scraped -----------------------------------------------------------------------------
  // Counters kept by the node itself: set to its totals at each scrape (reset, then inc: prom-client counters have no set).
  const setCounter = (c: Counter<string>, values: ReadonlyArray<[Record<string, string>, number]>): void => {
    c.reset()
    for (const [labels, v] of values) if (Number.isFinite(v) && v >= 0) c.inc(labels, v)
  }
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
