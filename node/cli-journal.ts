/**
 * `monoidb journal [KEY] [--peer P] [--after N] [--limit N] [--follow] [--json]`:
 * reads the daemon's sync journal (GET /v1/journal, node/http-journal.ts).
 * One line per record, oldest first: human-readable by default, the record
 * as JSON with --json. --follow keeps printing records as they are made.
 */
import { parseArgs } from 'node:util'
import type { JournalRecord } from '../core/sync/journal.ts'
import type { MonoidbClient } from './client.ts'

export const JOURNAL_USAGE = `usage: monoidb journal [KEY] [--peer P] [--after N] [--limit N] [--follow] [--json] [--data DIR | --api URL]

Prints the daemon's sync journal, oldest first: what it merged (from which peer,
by push, anti-entropy repair, catch-up or want answer, with the write ids a
delta carried, changed or redundant), what it refused and why, its own writes,
wants sent and answered, and each reconciliation session's end. The journal
holds the newest 10,000 records; older ones are forgotten. KEY and --peer keep
only records about them; --after N only those numbered above N; --limit N the
newest N (1 to 10,000; default 1,000). --follow then prints each new record as it is made, until
interrupted. --json prints each record as one line of JSON.`

export interface JournalCli {
  findDaemon: (data: string | undefined, api: string | undefined) => Promise<MonoidbClient>
  usage: (message: string, usage: string) => Error
}

export async function runJournal (argv: readonly string[], cli: JournalCli): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: {
        data: { type: 'string' },
        api: { type: 'string' },
        peer: { type: 'string' },
        after: { type: 'string' },
        limit: { type: 'string' },
        follow: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false }
      }
    })
  } catch (err) {
    throw cli.usage((err as Error).message, JOURNAL_USAGE)
  }
  const { values, positionals } = parsed
  if (values.help) { console.log(JOURNAL_USAGE); return 0 }
  if (positionals.length > 1) throw cli.usage(`journal takes at most one KEY, got ${JSON.stringify(positionals[1])} too`, JOURNAL_USAGE)
  const whole = (text: string | undefined, name: string, min: number): number | undefined => {
    if (text === undefined) return undefined
    const n = /^\d{1,15}$/.test(text) ? Number(text) : NaN
    if (!(n >= min)) throw cli.usage(`--${name} must be a whole number${min > 0 ? ` ≥ ${min}` : ''}, got ${JSON.stringify(text)}`, JOURNAL_USAGE)
    return n
  }
  const query = { key: positionals[0], peer: values.peer, after: whole(values.after, 'after', 0), limit: whole(values.limit, 'limit', 1) }
  const client = await cli.findDaemon(values.data, values.api)
  const print = (r: JournalRecord): void => { console.log(values.json ? JSON.stringify(r) : journalLine(r)) }
  if (!values.follow) {
    for (const r of (await client.journal(query)).records) print(r)
    return 0
  }
  const interrupted = new AbortController()
  const stop = (): void => { interrupted.abort() }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  for await (const r of client.followJournal(query, { signal: interrupted.signal })) print(r)
  return 0
}

const short = (peer: string): string => peer.length > 16 ? `…${peer.slice(-8)}` : peer
const bytes = (n: number): string => n < 10_000 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`
const ids = (writes: readonly string[]): string => writes.length === 0 ? '' : ` writes ${writes.length > 4 ? `${writes[0]} … ${writes[writes.length - 1]} (${writes.length})` : writes.join(' ')}`

/** One record as a line a person reads: time, number, what happened, to which key, with whom. */
export function journalLine (r: JournalRecord): string {
  const head = `${new Date(r.at).toISOString()} #${r.n}`
  const key = JSON.stringify(r.key)
  switch (r.kind) {
    case 'merged': {
      const latency = r.writtenAt === undefined ? '' : ` (${r.at - r.writtenAt} ms after the write)`
      return `${head} merged ${key} from ${short(r.peer)} by ${r.path}: ${r.changed ? 'changed' : 'redundant'}, ${bytes(r.bytes)}${ids(r.writes)}${latency}`
    }
    case 'written': return `${head} written ${key} here${ids(r.writes)}, ${bytes(r.bytes)}`
    case 'refused': return `${head} refused ${key} from ${short(r.peer)} by ${r.path}: ${r.reason}: ${r.message}`
    case 'want-sent': return `${head} want-sent ${key} to ${r.peer === '*' ? 'all peers' : short(r.peer)}`
    case 'want-answered': return `${head} want-answered ${key} for ${short(r.peer)}, ${bytes(r.bytes)}`
    case 'session': return `${head} session with ${short(r.peer)} ${r.ok ? 'ended' : 'failed'}: ${r.keysReceived} keys received (${r.keysChanged} changed), ${r.keysSent} sent, ${bytes(r.bytesIn)} in, ${bytes(r.bytesOut)} out`
    default: return `${head} ${(r as { kind: string }).kind} ${key}`
  }
}
