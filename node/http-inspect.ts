/**
 * The inspection routes of the HTTP API (README "Inspect and trace"):
 *
 *   GET /v1/keys/{key}/inspect[?timeout=MS]          → {"key","local","peers"} (node/inspect-service.ts)
 *   GET /v1/keys/{key}/trace?write=ID[&timeout=MS]   → {"key","write","status","writer","peers"}
 *
 * MS: how long peers' answers are waited for, 0 to 30000 (default 2000).
 */
import type { ServerResponse } from 'node:http'
import { parseWriteId } from '../core/write-id.ts'
import { HttpError, sendJson } from './http-errors.ts'
import { DEFAULT_INSPECT_TIMEOUT_MS, InspectBusyError, MAX_INSPECT_TIMEOUT_MS } from './inspect-service.ts'
import type { MonoidbNode } from './node.ts'

export async function serveInspection (node: MonoidbNode, key: string, what: 'inspect' | 'trace', query: ReadonlyMap<string, string>, res: ServerResponse): Promise<void> {
  const timeout = timeoutMs(query.get('timeout'))
  try {
    if (what === 'inspect') {
      sendJson(res, 200, await node.inspector.inspect(key, timeout))
      return
    }
    const write = query.get('write')
    if (write === undefined) throw new HttpError(400, 'bad_write_id', 'trace needs ?write=REPLICA/SEQ: the id of the write to trace (printed by update, carried by events)')
    if (parseWriteId(write) === undefined) throw new HttpError(400, 'bad_write_id', `write id ${JSON.stringify(write.slice(0, 80))} is not REPLICA/SEQ (a replica id, "/", and a write number from 1)`)
    sendJson(res, 200, await node.inspector.trace(key, write, timeout))
  } catch (err) {
    if (err instanceof InspectBusyError) throw new HttpError(503, 'unavailable', err.message, { 'retry-after': '2' })
    throw err
  }
}

function timeoutMs (text: string | undefined): number {
  if (text === undefined) return DEFAULT_INSPECT_TIMEOUT_MS
  const n = /^\d{1,6}$/.test(text) ? Number(text) : NaN
  if (!(n <= MAX_INSPECT_TIMEOUT_MS)) throw new HttpError(400, 'bad_timeout', `timeout must be a whole number of milliseconds from 0 to ${MAX_INSPECT_TIMEOUT_MS}, got ${JSON.stringify(text.slice(0, 40))}`)
  return n
}
