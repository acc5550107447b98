/**
 * GET /v1/journal: the node's sync journal (core/sync/journal.ts, README
 * "The sync journal"). Query: `key`, `peer` (only records about them),
 * `after=N` (records numbered above N), `limit=N` (the newest N of those,
 * 1..10,000; default JOURNAL_DEFAULT_LIMIT, 1,000). Answers {"first","last","records":[…]}:
 * the numbers of the oldest and newest records the journal holds, and the
 * matching records oldest first, each a JournalRecord as JSON.
 *
 * `follow=1` makes it a text/event-stream: the matching records held (as
 * above), then each new matching record as it is made, one event each,
 * `id: <n>` and `data: <record JSON>`. A reconnecting EventSource's
 * Last-Event-ID resumes after that record: the larger of it and `after`
 * wins, as the page's reconnect repeats its first URL. A client too slow to take the
 * records loses the oldest waiting ones past JOURNAL_BOUND (their numbers
 * show the gap), never the daemon's memory.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { keyBytes } from '../core/key-layout.ts'
import { DEFAULT_JOURNAL_LIMIT, type Journal, type JournalQuery, type JournalRecord } from '../core/sync/journal.ts'
import { HttpError } from './http-errors.ts'

export interface JournalRequest extends JournalQuery { follow: boolean }

export const JOURNAL_PARAMS = new Set(['key', 'peer', 'after', 'limit', 'follow'])

/** How many records a read returns when it gives no `limit`: one answer stays a bounded JSON text. */
export const JOURNAL_DEFAULT_LIMIT = 1000

/** Records waiting for a slow follower at most: past this the oldest are dropped. */
const JOURNAL_BOUND = DEFAULT_JOURNAL_LIMIT

/** The request's query, checked: a bad parameter is a 400 naming it. */
export function journalRequest (query: ReadonlyMap<string, string>, lastEventId?: string): JournalRequest {
  // `ticket` authorised the request (node/http-auth.ts) and is no filter.
  const unknown = [...query.keys()].filter(k => !JOURNAL_PARAMS.has(k) && k !== 'ticket')
  if (unknown.length > 0) throw new HttpError(400, 'bad_request', `unknown query parameter(s) ${unknown.map(k => JSON.stringify(k.slice(0, 40))).join(', ')}; the journal takes ${[...JOURNAL_PARAMS].join(', ')}`)
  const q: JournalRequest = { follow: false }
  const key = query.get('key')
  if (key !== undefined) {
    keyBytes(key) // bad_key if it cannot be a key
    q.key = key
  }
  const peer = query.get('peer')
  if (peer !== undefined) {
    if (peer.length === 0 || peer.length > 256) throw new HttpError(400, 'bad_request', 'peer must be a peer id of 1 to 256 characters')
    q.peer = peer
  }
  // A reconnecting EventSource repeats its URL's `after` and sends the last id it got: resume after the later one.
  const afters = [['after', query.get('after')], ['Last-Event-ID', lastEventId]].filter((a): a is [string, string] => a[1] !== undefined)
  if (afters.length > 0) q.after = Math.max(...afters.map(([name, text]) => whole(text, name, Number.MAX_SAFE_INTEGER)))
  const limit = query.get('limit')
  q.limit = JOURNAL_DEFAULT_LIMIT
  if (limit !== undefined) {
    q.limit = whole(limit, 'limit', DEFAULT_JOURNAL_LIMIT)
    if (q.limit < 1) throw new HttpError(400, 'bad_request', `limit must be a whole number from 1 to ${DEFAULT_JOURNAL_LIMIT}, got "0"`)
  }
  const follow = query.get('follow')
  if (follow !== undefined && follow !== '0' && follow !== '1') throw new HttpError(400, 'bad_request', `follow must be 1 (an event stream) or 0, got ${JSON.stringify(follow.slice(0, 40))}`)
  q.follow = follow === '1'
  return q
}

function whole (text: string, name: string, max: number): number {
  const n = /^\d{1,16}$/.test(text) ? Number(text) : NaN
  if (!(n <= max)) throw new HttpError(400, 'bad_request', `${name} must be a whole number from ${name === 'limit' ? 1 : 0} to ${max}, got ${JSON.stringify(text.slice(0, 40))}`)
  return n
}

/** The JSON answer: {"first","last","records"}. */
export function readJournal (journal: Journal, q: JournalQuery): { first: number, last: number, records: JournalRecord[] } {
  return { first: journal.first, last: journal.last, records: journal.query(q) }
}

const matches = (q: JournalQuery, r: JournalRecord): boolean => (q.key === undefined || r.key === q.key) && (q.peer === undefined || r.peer === q.peer)

/** The follow stream: held records that match, then new ones, until the client goes away. */
export async function followJournal (journal: Journal, q: JournalQuery, req: IncomingMessage, res: ServerResponse, heartbeatMs: number): Promise<void> {
  const waiting: JournalRecord[] = []
  let wake: (() => void) | undefined
  // Subscribed before the held records are read, so none falls between; sent ones are skipped by number.
  const stop = journal.subscribe(r => {
    if (!matches(q, r)) return
    waiting.push(r)
    if (waiting.length > JOURNAL_BOUND) waiting.shift()
    wake?.()
  })
  let closed = false
  const end = (): void => { closed = true; wake?.() }
  res.on('close', end)
  req.on('close', () => { if (req.socket.destroyed) end() })
  const heartbeat = setInterval(() => { res.write(': keep-alive\n\n') }, heartbeatMs)
  try {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' })
    res.flushHeaders()
    let sent = q.after ?? 0
    for (const r of journal.query(q)) { await send(res, r); sent = r.n }
    while (!closed && !res.destroyed) {
      const r = waiting.shift()
      if (r === undefined) { await new Promise<void>(resolve => { wake = resolve }); wake = undefined; continue }
      if (r.n <= sent) continue
      await send(res, r)
      sent = r.n
    }
  } finally {
    stop()
    clearInterval(heartbeat)
    if (!res.writableEnded && !res.destroyed) res.end()
  }
}

/** One event; waits for the socket to drain (meanwhile records wait, bounded, in `waiting`). */
async function send (res: ServerResponse, r: JournalRecord): Promise<void> {
  if (res.write(`id: ${r.n}\ndata: ${JSON.stringify(r)}\n\n`)) return
  await new Promise<void>(resolve => {
    const done = (): void => { res.off('drain', done); res.off('close', done); resolve() }
    res.on('drain', done)
    res.on('close', done)
  })
}
