/**
 * GET /v1/events[?prefix=P]: one text/event-stream of every key's changes (or
 * those of keys starting with P), for the dashboard and any app watching many
 * keys. An event is {"key","contract","value"} with `id: <storeEpoch>:<n>`
 * (node/change-counter.ts). Changes a slow client has not yet been sent are
 * folded: it gets each key's newest value once, in the order the keys last
 * changed, so a stream costs at most one entry per key, never a backlog.
 *
 * A fresh stream starts with an id-only block (the client's resume point) and
 * no values: read the keys first (GET /v1/keys, GET /v1/keys/{key}), then
 * follow. With `Last-Event-ID` it first sends the current value of exactly the
 * keys changed since that id (`"resumed":true`); with an id of another run or
 * older than the daemon remembers, the current value of every key
 * (`"resumed":false`, each carrying the id the client sent, so a stream cut
 * during that catch-up starts it again), then an id-only block.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { LatestChanges } from './latest-changes.ts'
import type { MonoidbNode } from './node.ts'
import { HEARTBEAT_MS, lastEventId, openStream, sendEvent, sendId } from './sse.ts'

export async function streamChanges (node: MonoidbNode, prefix: string, req: IncomingMessage, res: ServerResponse, heartbeatMs = HEARTBEAT_MS): Promise<void> {
  const from = lastEventId(req)
  const counter = node.changes
  /** Each key's newest change not yet sent, in n order (a key that changes again moves to the end). */
  const pending = new LatestChanges()
  let wake: (() => void) | undefined
  const stopCounting = counter.subscribe((key, n) => {
    if (!key.startsWith(prefix)) return
    pending.set(key, n)
    wake?.()
  })
  let stopHeartbeat = (): void => {}
  let ended = false
  const end = (): void => {
    ended = true
    stopCounting()
    stopHeartbeat()
    wake?.()
  }
  res.on('close', end)
  req.on('close', () => { if (req.socket.destroyed) end() })
  try {
    stopHeartbeat = openStream(res, heartbeatMs)
    // No change can be counted between subscribing and here (no await): pending is empty, all later n > start.
    const start = counter.last
    let resumedUpTo = 0
    if (from === undefined) {
      await sendId(res, counter.id(start))
    } else if (counter.resumable(from)) {
      for (const [key, n] of counter.changedSince(from.n)) if (key.startsWith(prefix)) pending.set(key, n)
      resumedUpTo = start
    } else {
      const stale = `${from.epoch}:${from.n}`
      for (const key of await node.keys(prefix)) {
        if (ended) return
        const view = await viewOf(node, key)
        if (view !== undefined) await sendEvent(res, stale, { ...view, resumed: false })
      }
      await sendId(res, counter.id(start))
    }
    while (!ended && !res.destroyed) {
      const next = pending.shift()
      if (next === undefined) {
        await new Promise<void>(resolve => { wake = resolve })
        wake = undefined
        continue
      }
      const [key, n] = next
      // The value read now is at least as new as change n; later changes to it are pending again.
      const view = await viewOf(node, key)
      if (view === undefined) continue
      await sendEvent(res, counter.id(n), n <= resumedUpTo ? { ...view, resumed: true } : view)
    }
  } finally {
    end()
    if (res.headersSent && !res.writableEnded && !res.destroyed) res.end()
  }
}

/** The key's view; undefined for one this daemon cannot read (bound to a contract it lacks). */
async function viewOf (node: MonoidbNode, key: string): Promise<{ key: string, contract: unknown, value: unknown } | undefined> {
  try {
    const view = await node.get(key)
    return view === undefined ? undefined : { key: view.key, contract: view.contract, value: view.value, ...(view.owner === undefined ? {} : { owner: view.owner, writers: view.writers }) }
  } catch {
    return undefined
  }
}
