/**
 * GET /v1/keys/{key}/events: a text/event-stream of one key. The first event
 * is the key's current value ({"key","contract","value"}, or contract and
 * value null if this node does not hold it yet), then one event per committed
 * change: {"key","contract","value","origin"} with "write" (a local change's id, `REPLICA/SEQ`) or
 * "writes" (a remote change's: the ids it brought, where known, else []). Each event is a single
 * `data:` line of JSON. A comment line every `heartbeatMs` keeps proxies from
 * timing the stream out and finds dead clients; the subscription ends when
 * the client goes away.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { MonoidbNode } from './node.ts'

export const HEARTBEAT_MS = 15_000

export async function streamKeyEvents (node: MonoidbNode, key: string, req: IncomingMessage, res: ServerResponse, heartbeatMs = HEARTBEAT_MS): Promise<void> {
  const closed = new AbortController()
  // Subscribe before reading the current value, so no change falls between the two
  // (one committed in between is then sent twice: the same value, harmless).
  const changes = node.subscribe(key, { signal: closed.signal })
  let heartbeat: NodeJS.Timeout | undefined
  const end = (): void => {
    clearInterval(heartbeat)
    closed.abort()
  }
  res.on('close', end)
  req.on('close', () => { if (req.socket.destroyed) end() })
  try {
    const current = await node.get(key)
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' })
    res.flushHeaders()
    heartbeat = setInterval(() => { res.write(': keep-alive\n\n') }, heartbeatMs)
    await send(res, current ?? { key, contract: null, value: null })
    for await (const change of changes) {
      if (res.destroyed) break
      const ids = change.origin === 'local' ? { write: change.write } : { writes: change.writes ?? [] }
      await send(res, { key: change.key, contract: change.contract, value: change.value, origin: change.origin, ...ids })
    }
  } finally {
    end()
    if (res.headersSent && !res.writableEnded && !res.destroyed) res.end() // else the caller sends the error
  }
}

/** Writes one event; waits for the socket to drain, so a slow client loses old changes (Subscription) rather than memory. */
async function send (res: ServerResponse, event: unknown): Promise<void> {
  if (res.write(`data: ${JSON.stringify(event)}\n\n`)) return
  await new Promise<void>(resolve => {
    const done = (): void => { res.off('drain', done); res.off('close', done); resolve() }
    res.on('drain', done)
    res.on('close', done)
  })
}
