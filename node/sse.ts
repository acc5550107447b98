/**
 * Writing text/event-stream responses: the headers, one event (an `id:` line
 * and one `data:` line of JSON), an id-only block (moves the client's last
 * event id without an event), a keep-alive comment, and the client's
 * Last-Event-ID header, parsed (a malformed one is a 400 naming it).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { type EventId, parseEventId } from './change-counter.ts'
import { HttpError } from './http-errors.ts'

export const HEARTBEAT_MS = 15_000

/** The request's Last-Event-ID, if any; HttpError 400 if it is not one of ours. */
export function lastEventId (req: IncomingMessage): EventId | undefined {
  const header = req.headers['last-event-id']
  const parsed = parseEventId(Array.isArray(header) ? header.join(',') : header)
  if (parsed instanceof Error) throw new HttpError(400, 'bad_request', parsed.message)
  return parsed
}

/** Sends the stream's headers and starts its keep-alive comments; returns the function that stops them. */
export function openStream (res: ServerResponse, heartbeatMs: number): () => void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' })
  res.flushHeaders()
  const heartbeat = setInterval(() => { res.write(': keep-alive\n\n') }, heartbeatMs)
  return () => { clearInterval(heartbeat) }
}

/** Writes one event; waits for the socket to drain, so a slow client costs folded or dropped changes, not memory. */
export async function sendEvent (res: ServerResponse, id: string, event: unknown): Promise<void> {
  await write(res, `id: ${id}\ndata: ${JSON.stringify(event)}\n\n`)
}

/** An id with no data: the client's last event id moves on, no event fires (the EventSource rules). */
export async function sendId (res: ServerResponse, id: string): Promise<void> {
  await write(res, `id: ${id}\n\n`)
}

async function write (res: ServerResponse, text: string): Promise<void> {
  if (res.write(text)) return
  await new Promise<void>(resolve => {
    const done = (): void => { res.off('drain', done); res.off('close', done); resolve() }
    res.on('drain', done)
    res.on('close', done)
  })
}
