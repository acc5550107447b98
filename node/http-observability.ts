/**
 * The API routes that look at the daemon rather than the data (README "Metrics", "Logs"):
 *
 *   GET  /metrics          Prometheus text (node/metrics.ts)
 *   GET  /v1/log-level     → {"level"}
 *   POST /v1/log-level     {"level"} → {"level","was"}; 400 bad_level for a level pino does not have
 *
 * Behind the API's token like every route; `--metrics HOST:PORT` serves /metrics alone without one
 * (node/metrics-server.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { HttpError, sendJson } from './http-errors.ts'
import { LOG_LEVELS, isLogLevel } from './log-levels.ts'
import type { NodeMetrics } from './metrics.ts'

export interface ObservabilityHooks {
  metrics?: NodeMetrics
  /** The log level in force, and a way to change it. */
  logLevel?: { get: () => string, set: (level: string) => void }
}

/**
 * Serves `path` if it is one of these routes (true), else leaves it to the caller (false). `readBody` reads
 * the request's JSON body within the API's limits.
 */
export async function serveObservability (hooks: ObservabilityHooks | undefined, path: string, method: string, res: ServerResponse, readBody: () => Promise<unknown>): Promise<boolean> {
  if (path === '/metrics' && hooks?.metrics !== undefined) {
    allow(method, 'GET')
    await sendMetrics(hooks.metrics, res)
    return true
  }
  if (path === '/v1/log-level' && hooks?.logLevel !== undefined) {
    allow(method, 'GET', 'POST')
    const { get, set } = hooks.logLevel
    if (method === 'GET') { sendJson(res, 200, { level: get() }); return true }
    const body = await readBody()
    const fields = body !== null && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body) : undefined
    if (fields === undefined || fields.length !== 1 || fields[0] !== 'level') throw new HttpError(400, 'bad_request', 'the body must be a JSON object {"level"}')
    const level = (body as { level: unknown }).level
    if (!isLogLevel(level)) throw new HttpError(400, 'bad_level', `"level" must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)?.slice(0, 40)}`)
    const was = get()
    set(level)
    sendJson(res, 200, { level, was })
    return true
  }
  return false
}

export async function sendMetrics (metrics: NodeMetrics, res: ServerResponse): Promise<void> {
  const text = await metrics.render()
  res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' })
  res.end(text)
}

function allow (method: string, ...methods: string[]): void {
  if (!methods.includes(method)) throw new HttpError(405, 'method_not_allowed', `${method} is not allowed here; use ${methods.join(' or ')}`, { allow: methods.join(', ') })
}

/** For metrics-server.ts: a request it does not serve. */
export function notMetrics (req: IncomingMessage): HttpError {
  return new HttpError(404, 'unknown_route', `no route ${JSON.stringify((req.url ?? '/').slice(0, 200))}; this port serves GET /metrics only`)
}
