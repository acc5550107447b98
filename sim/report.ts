// Human-readable lines for a simulation result (the CLI and the soak print them).
import type { FaultSchedule } from './faults.ts'
import type { SimResult } from './simulation.ts'

export function formatBytes (n: number): string {
  if (n < 1024) return `${Math.round(n)} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(2)} MiB`
}

export function describeSchedule (s: FaultSchedule): string {
  const skew = Math.max(0, ...s.skewMs.map(Math.abs))
  const kinds = s.partitions.map(p => p.kind === 'isolate' ? `isolate p${p.side[0]}` : `${p.kind} ${p.side.length}/${s.skewMs.length}`)
  return [
    `drop ${(s.drop * 100).toFixed(1)}%`,
    `dup ${(s.dup * 100).toFixed(1)}%`,
    `delay 1–${1 + s.delayMs} ms`,
    `skew up to ${skew} ms`,
    `${s.partitions.length} partition(s)${kinds.length > 0 ? ` (${kinds.join(', ')})` : ''}`,
    `${s.crashes.length} crash(es)`
  ].join(', ')
}

/** The partial peers, the keys they keep, and what partial replication cost and did. */
export function describePartial (r: SimResult): string {
  const sizes = r.partial.map(p => p.keys)
  const e = r.engine
  return `  partial: ${r.partial.length} of ${r.peers} peers keep ${Math.min(...sizes)}–${Math.max(...sizes)} of the ${r.keys} keys each; ` +
    `${e['perType.want.messagesSent'] ?? 0} wants sent, ${e.wantsAnswered ?? 0} keys pushed in answer; ${e.notReplicated ?? 0} deltas of keys not kept dropped`
}

export function formatResult (r: SimResult, replay: string): string[] {
  const e = r.engine
  const lines = [
    `seed ${r.seed}: ${r.problems.length === 0 ? 'PASSED' : 'FAILED'}: ${r.converged ? `converged (every replica holds the same summaries${r.partial.length > 0 ? ' of the keys it keeps' : ''})` : 'did NOT converge'}`,
    `  ${r.peers} peers, ${r.keys} keys; ops acknowledged ${r.ops.acked}, interrupted by crashes ${r.ops.unacked}, no-ops ${r.ops.noops}`,
    `  faults: ${describeSchedule(r.schedule)}`,
    ...(r.partial.length === 0 ? [] : [describePartial(r)]),
    r.converged
      ? `  heal at ${r.healAt} ms; converged at ${r.convergedAt!.toFixed(0)} ms: ${(r.convergedAt! - r.healAt).toFixed(0)} ms (virtual), ${r.rounds} anti-entropy round(s) after the heal`
      : `  heal at ${r.healAt} ms; not converged by ${r.endAt.toFixed(0)} ms`,
    ...(r.divergentKeys === undefined ? [] : [`  at the heal, ${r.divergentKeys} of ${r.keys} keys differed between replicas`]),
    `  per peer, whole run: ${r.messagesPerPeer.toFixed(1)} messages, ${formatBytes(r.bytesPerPeer)} sent`,
    `  received from heal to convergence: ${formatBytes(r.receivedAfterHeal / r.peers)} per peer (max ${formatBytes(r.maxReceivedAfterHeal)})` +
      (r.idealBytes === undefined ? '' : `; ideal ${formatBytes(r.idealBytes / r.peers)} per peer → ${r.idealBytes === 0 ? 'n/a (nothing was missing)' : `${(r.receivedAfterHeal / r.idealBytes).toFixed(2)}× the ideal`}`),
    `  network: ${r.network.dropped} dropped, ${r.network.duplicated} duplicated, ${r.network.unreachable} found no connection`,
    `  engines: ${e.sessionsStarted ?? 0} sessions started, ${e.sessionsCompleted ?? 0} completed, ${e.sessionsTimedOut ?? 0} timed out; ` +
      `${e.deltasReceived ?? 0} deltas received, ${e.redundantDeltas ?? 0} redundant; ${e.badMessages ?? 0} bad messages`
  ]
  const h = r.engineAfterHeal
  const healTypes = Object.entries(h).filter(([k]) => /^perType\.[^.]+\.bytesReceived$/.test(k)).map(([k, v]) => `${k.split('.')[1]} ${formatBytes(v / r.peers)}`)
  if (healTypes.length > 0) {
    lines.push(`  received per peer from heal to convergence by message type: ${healTypes.join(', ')}; ` +
      `${h.sessionsStarted ?? 0} sessions started, ${h.catchUps ?? 0} catch-ups, ${h.redundantDeltas ?? 0} of ${h.deltasReceived ?? 0} deltas redundant`)
  }
  const byType = Object.entries(e).filter(([k]) => /^perType\.[^.]+\.bytesSent$/.test(k) && e[k] > 0).map(([k, v]) => `${k.split('.')[1]} ${formatBytes(v / r.peers)}`)
  if (byType.length > 0) lines.push(`  sent per peer by message type: ${byType.join(', ')}`)
  for (const p of r.problems.slice(0, 5)) lines.push(`  problem: ${p.length > 400 ? p.slice(0, 400) + '…' : p}`)
  if (r.problems.length > 5) lines.push(`  … and ${r.problems.length - 5} more problem lines (--json lists them)`)
  lines.push(`  replay: ${replay}`)
  return lines
}
