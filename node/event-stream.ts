/**
 * GET /v1/keys/{key}/events: a text/event-stream of one key. The first event
 * is the key's current value ({"key","contract","value"}, or contract and
 * value null if this node does not hold it yet), then one event per committed
 * change: {"key","contract","value","origin"} with "write" (a local change's id, `REPLICA/SEQ`) or
 * "writes" (a remote change's: the ids it brought, where known, else []). Each event is an `id:` line
 * (`<storeEpoch>:<n>`, node/change-counter.ts) and a single `data:` line of
 * JSON. A comment line every `heartbeatMs` keeps proxies from timing the
 * stream out and finds dead clients; the subscription ends when the client
 * goes away.
 *
 * Resuming: a request with `Last-Event-ID` gets, instead of the first event,
 * the current value with `"resumed":true` if the key changed since that id,
 * nothing (an id-only block) if it did not, or the current value with
 * `"resumed":false` if the id is of another run or older than the daemon
 * remembers (so the client knows it may have missed changes in between).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { MonoidbNode } from './node.ts'
import { HEARTBEAT_MS, lastEventId, openStream, sendEvent, sendId } from './sse.ts'

export { HEARTBEAT_MS } from './sse.ts'

export async function streamKeyEvents (node: MonoidbNode, key: string, req: IncomingMessage, res: ServerResponse, heartbeatMs = HEARTBEAT_MS): Promise<void> {
  const from = lastEventId(req) // a malformed one is refused before anything is subscribed
  const counter = node.changes
  const closed = new AbortController()
  // Subscribe before reading the current value, so no change falls between the two
  // (one committed in between is then sent twice: the same value, harmless).
  const changes = node.subscribe(key, { signal: closed.signal })
  let stopHeartbeat = (): void => {}
  const end = (): void => {
    stopHeartbeat()
    closed.abort()
  }
  res.on('close', end)
  req.on('close', () => { if (req.socket.destroyed) end() })
  try {
    // Read before the value: the value is at least as new as change n (the store updates before it counts).
    let id = counter.id(counter.last)
    const current = await node.get(key) ?? { key, contract: null, value: null }
    stopHeartbeat = openStream(res, heartbeatMs)
    if (from === undefined) await sendEvent(res, id, current)
    else if (!counter.resumable(from)) await sendEvent(res, id, { ...current, resumed: false })
    else if ((counter.lastChangeOf(key) ?? 0) > from.n) await sendEvent(res, id, { ...current, resumed: true })
    else await sendId(res, id)
    for await (const change of changes) {
      if (res.destroyed) break
      // With nothing buffered behind it, this change is the key's value as of the newest commit, which
      // the counter has already counted (it counts before the store emits). A change with more behind it
      // keeps the previous id: resuming from there sends the current value again, never loses it.
      if (changes.buffered === 0) id = counter.id(counter.last)
      const ids = change.origin === 'local' ? { write: change.write } : { writes: change.writes ?? [] }
      const access = change.owner === undefined ? {} : { owner: change.owner, writers: change.writers }
      await sendEvent(res, id, { key: change.key, contract: change.contract, value: change.value, ...access, origin: change.origin, ...ids })
    }
  } finally {
    end()
    if (res.headersSent && !res.writableEnded && !res.destroyed) res.end() // else the caller sends the error
  }
}
