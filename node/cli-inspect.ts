/**
 * `monoidb inspect KEY` and `monoidb trace KEY WRITE` (README "Inspect and
 * trace"): their help, and their human-readable output, one line per peer.
 * node/cli.ts parses the arguments and dispatches here; `--json` prints the
 * API's JSON instead.
 */
import type { InspectReport, MonoidbClient, TraceReport } from './client.ts'

export const INSPECT_COMMANDS = ['inspect', 'trace']

export const INSPECT_HELP: Record<string, string> = {
  inspect: `usage: monoidb inspect KEY [--timeout MS] [--json] [--data DIR | --api URL]

Asks every peer that can be reached (directly or through others) for its copy of
KEY, waits MS milliseconds for answers (default 2000, at most 30000), and prints
this peer's binding, summary digest, state size and recent writes, then one line
per peer: equal, behind (the ids of our logged writes it lacks, oldest first, and
whether it lacks more we cannot name), ahead (it has what we lack), diverged
(both), does not keep KEY, lacks contract C, or no answer (with when it was last
heard from); and when we last received anything of KEY from it, by which path
(push, repair, catch-up, want), and the last refusal about KEY between us.
--json prints {"key","local","peers"} as GET /v1/keys/KEY/inspect does.`,
  trace: `usage: monoidb trace KEY WRITE [--timeout MS] [--json] [--data DIR | --api URL]

Which peers hold the write WRITE (REPLICA/SEQ, as update prints it) of KEY and
which do not, and for each holder when and by which path it arrived, as far as its
journal remembers. A write older than its writer's delta log (64 writes per key)
is reported as too old, not as missing. --json prints the JSON of
GET /v1/keys/KEY/trace?write=WRITE.`
}

export async function runInspect (client: MonoidbClient, command: string, rest: readonly string[], options: { timeout?: number, json: boolean }): Promise<string> {
  const [key, write] = rest
  if (command === 'inspect') {
    const r = await client.inspect(key, { timeout: options.timeout })
    return options.json ? JSON.stringify(r) : formatInspect(r)
  }
  const t = await client.trace(key, write, { timeout: options.timeout })
  return options.json ? JSON.stringify(t) : formatTrace(t)
}

const ago = (at: string | null): string => at ?? 'never'

export function formatInspect (r: InspectReport): string {
  const l = r.local
  const lines = [
    `key ${JSON.stringify(r.key)} on ${l.peerId} (replica ${l.replica})`,
    l.binding === null
      ? `  not held here${l.lacksContract === undefined ? '' : `; what peers sent is bound to ${l.lacksContract}, which this peer lacks`}`
      : `  binding ${JSON.stringify(l.binding)}  digest ${l.summaryDigest ?? '-'}  state ${l.stateBytes ?? '?'} bytes${l.lacksContract === undefined ? '' : `  (contract ${l.lacksContract} not loaded)`}`,
    `  recent writes:${l.recentWrites.length === 0 ? ' none known' : ''}`,
    ...l.recentWrites.map(w => `    ${w.id}  ${w.origin === 'local' ? 'local' : `from ${w.origin}`}  ${w.at ?? 'time not remembered'}${w.path === null || w.path === 'local' ? '' : ` by ${w.path}`}`),
    `peers (${r.peers.length}):`
  ]
  if (r.peers.length === 0) lines.push('  none known')
  for (const p of r.peers) {
    const parts = [`  ${p.peerId}  ${stateText(p, r.key)}`]
    if (p.note !== undefined) parts.push(`(${p.note})`)
    if (p.state !== 'no_answer') parts.push(`last exchange: ${p.lastExchange === null ? 'none remembered' : `${p.lastExchange.path} ${p.lastExchange.from === p.peerId ? 'from it' : 'to it'} at ${p.lastExchange.at}`}`)
    if (p.lastError !== null) parts.push(`last error: ${p.lastError.reason} (${p.lastError.by === 'self' ? 'refused here' : 'refused by it'} at ${p.lastError.at}: ${p.lastError.message})`)
    lines.push(parts.join('; '))
  }
  return lines.join('\n')
}

function stateText (p: InspectReport['peers'][number], key: string): string {
  switch (p.state) {
    case 'behind':
    case 'diverged': {
      const more = p.unidentified === null ? ', maybe more unidentified' : p.unidentified > 0 ? ', and at least one more unidentified' : ''
      const what = p.missing.length === 0 ? `missing writes not in this peer's delta log${more === '' ? '' : more}` : `missing ${p.missing.join(' ')}${more}`
      return `${p.state === 'behind' ? 'behind' : 'diverged (it also has what this peer lacks)'}: ${what}`
    }
    case 'ahead': return 'ahead: it has what this peer lacks'
    case 'not_kept': return `does not keep ${JSON.stringify(key)}`
    case 'lacks_contract': return `lacks contract ${p.contract ?? '?'}`
    case 'no_answer': return `no answer (last heard ${ago(p.lastHeard)})`
    default: return p.state
  }
}

export function formatTrace (t: TraceReport): string {
  const status = {
    ok: '',
    too_old: ': too old for its writer\'s delta log, so who lacks it cannot be told (holders whose journal remembers it are shown)',
    unknown_write: ': its writer has no such write',
    writer_unreachable: ': its writer did not answer, so who lacks it cannot be told (holders whose journal remembers it are shown)'
  }[t.status]
  const lines = [`write ${t.write} of ${JSON.stringify(t.key)}, written by ${t.writer.peerId ?? `replica ${t.writer.replica} (no peer answered as it)`}${status}`]
  for (const p of t.peers) {
    const who = `  ${p.peerId}${p.self === true ? ' (this peer)' : ''}`
    const holds = p.holds === true ? 'holds it' : p.holds === false ? 'does not hold it' : 'unknown'
    const why = p.state === 'no_answer' ? ` (no answer; last heard ${ago(p.lastHeard ?? null)})` : p.state === 'lacks_contract' ? ' (lacks the key\'s contract)' : p.state === 'not_kept' ? ' (does not keep the key)' : ''
    const arrival = p.arrival === null ? (p.holds === true ? '; its journal does not remember how it arrived' : '') : `; arrived ${p.arrival.at} by ${p.arrival.path}${p.arrival.path === 'local' ? '' : ` from ${p.arrival.from}`}${p.arrival.exact ? (p.arrival.path === 'local' ? '' : ' (a push naming the write: the pusher\'s claim, not proof)') : ' (the first change of the key after the write: repairs carry no write ids)'}`
    lines.push(`${who}  ${holds}${why}${arrival}`)
  }
  return lines.join('\n')
}
