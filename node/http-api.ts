/**
 * The daemon's HTTP API over a MonoidbNode (JSON; README "HTTP API"):
 *
 *   GET  /v1/keys/{key}[?wait=ms]   → {"key","contract","value"}, 404 not_found
 *   POST /v1/keys/{key}             {"contract","op","args"} → {"key","contract","value","write"} once durably committed
 *   GET  /v1/keys/{key}/events      text/event-stream (node/event-stream.ts)
 *   GET  /v1/keys[?prefix=P]        → {"keys":[…]}
 *   GET  /v1/status                 → {"peerId","multiaddrs","peers","keys"}
 *   GET  /v1/peers                  → {"peers":[…]}: every peer known, with its health (node/http-peers.ts)
 *   POST /v1/peers, DELETE /v1/peers/{peerId}   connect, forget (node/http-peers.ts)
 *   GET  /v1/events[?prefix=P]      text/event-stream of every key's changes (node/change-stream.ts)
 *   POST /v1/tickets                → {"ticket","expiresInMs"} (node/tickets.ts)
 *   GET  /                          the dashboard (node/dashboard.ts)
 *   GET  /v1/keys/{key}/inspect, /v1/keys/{key}/trace?write=ID   (node/http-inspect.ts)
 *   GET  /v1/journal[?key&peer&after&limit&follow=1]  → {"first","last","records"} or an event stream (node/http-journal.ts)
 *   POST /v1/keys/{key}/writers     {"grant":[…]} or {"revoke":[…]} → {"key","owner","writers"} (node/http-owned.ts)
 *
 * Plain node:http: six routes do not earn a router dependency, and routing on
 * the raw path keeps a key's %2F or %2E%2E from being normalized away (the URL
 * parser resolves dot segments). Every request needs `Authorization: Bearer
 * <token>`, compared in constant time, or for event streams and the dashboard
 * a ticket or the dashboard's cookie (node/http-auth.ts). Errors: node/http-errors.ts.
 *
 * Strangers must not be able to spend the daemon's file descriptors: headers,
 * requests and idle keep-alive connections time out, connections are capped
 * (node/connection-cap.ts: at the cap the oldest one not serving a request is
 * closed, so a new request still gets in), and event streams, which live as
 * long as their client wants, are capped below the connection cap so that
 * they can never take every connection.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ContractError } from '../core/errors.ts'
import type { JsonValue } from '../core/json.ts'
import { keyBytes, prefixBytes } from '../core/key-layout.ts'
import { type ApiTls, createApiServer } from './api-server.ts'
import { ConnectionCap, type ConnectionCapStats, defaultMaxConnections } from './connection-cap.ts'
import { streamChanges } from './change-stream.ts'
import { serveDashboard } from './dashboard.ts'
import { streamKeyEvents } from './event-stream.ts'
import { ApiAuth } from './http-auth.ts'
import { HttpError, sendError, sendJson } from './http-errors.ts'
import { postWriters, publicKeysField } from './http-owned.ts'
import { peersRoute } from './http-peers.ts'
import { type ObservabilityHooks, serveObservability } from './http-observability.ts'
import { followJournal, journalRequest, readJournal } from './http-journal.ts'
import { HEARTBEAT_MS } from './sse.ts'
import type { MonoidbNode } from './node.ts'
import { TicketsFull } from './tickets.ts'
import { serveInspection } from './http-inspect.ts'

/** Largest request body accepted (a POST's JSON); refused by Content-Length and while reading. */
export const MAX_BODY_BYTES = 1024 * 1024
export const DEFAULT_WAIT_MS = 2_000
export const MAX_WAIT_MS = 30_000
/** A client sends its headers at once; a connection that has not within this is a stranger's (node's default is 60 s). */
export const HEADERS_TIMEOUT_MS = 10_000
/** The whole request, a 1 MiB body included (node's default is 300 s). Responses, event streams included, are not timed. */
export const REQUEST_TIMEOUT_MS = 30_000
/** An idle keep-alive connection is closed after this (node's default). */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000
/** Request line and headers together at most (node's default); more gets 431. */
export const MAX_HEADER_BYTES = 16 * 1024

export interface HttpApiOptions {
  host: string
  /** 0 picks a free port; `url` then holds the bound one. */
  port: number
  /** The bearer token every request must carry. */
  token: string
  maxBodyBytes?: number
  /** SSE keep-alive comment period (tests shorten it). */
  heartbeatMs?: number
  /** A connection whose request headers have not all arrived within this is closed (408). */
  headersTimeoutMs?: number
  /** A request not received whole (headers and body) within this is closed (408); at least headersTimeoutMs. */
  requestTimeoutMs?: number
  /** A keep-alive connection idle between requests for this long is closed. */
  keepAliveTimeoutMs?: number
  /** Connections held at most; at the cap the oldest not serving a request is closed. Default: a quarter of the process's descriptor limit, 64 to 1,024. */
  maxConnections?: number
  /** Event streams open at most (more get 503 unavailable); default half of maxConnections. */
  maxEventStreams?: number
  /** How long a ticket from POST /v1/tickets lasts (default 60 s; tests shorten it). */
  ticketTtlMs?: number
  /** Tickets live at most (default 1,000); more are refused until one expires. */
  maxTickets?: number
  /** GET /metrics and /v1/log-level (node/http-observability.ts). */
  observe?: ObservabilityHooks
  /** Serve HTTPS with this certificate and key (node/api-tls.ts); default plain HTTP. */
  tls?: ApiTls
  /** Request line and headers at most, in bytes (431 past it); default MAX_HEADER_BYTES. */
  maxHeaderBytes?: number
}

export interface HttpApi {
  /** Where it listens, e.g. http://127.0.0.1:7420 (IPv6 hosts in brackets). */
  readonly url: string
  /** Event streams open now (each holds one subscription). */
  readonly openStreams: number
  /** The limits in force (defaults filled in). */
  readonly limits: HttpLimits
  /** Connections held, and how many the cap closed or refused. */
  connections: () => ConnectionCapStats
  /** Stops listening and closes every connection, event streams included. */
  close: () => Promise<void>
}

export interface HttpLimits {
  headersTimeoutMs: number
  requestTimeoutMs: number
  keepAliveTimeoutMs: number
  maxConnections: number
  maxEventStreams: number
  maxHeaderBytes: number
}

const POST_FIELDS = new Set(['contract', 'op', 'args', 'writers'])

export async function startHttpApi (node: MonoidbNode, options: HttpApiOptions): Promise<HttpApi> {
  if (typeof options.token !== 'string' || options.token.length === 0) throw new TypeError('startHttpApi needs a token')
  const auth = new ApiAuth(options.token, { ticketTtlMs: options.ticketTtlMs, maxTickets: options.maxTickets, secure: options.tls !== undefined })
  const maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES
  const limits = httpLimits(options)
  let openStreams = 0

  const server: Server = createApiServer(limits, options.tls, (req, res) => {
    handle(req, res).catch(err => { sendError(res, err) })
  })
  const cap = new ConnectionCap(limits.maxConnections)
  cap.attach(server)

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.url ?? '/'
    const q = raw.indexOf('?')
    const path = q < 0 ? raw : raw.slice(0, q)
    const query = parseQuery(q < 0 ? '' : raw.slice(q + 1))
    const grant = auth.check(req, path, query)
    if (serveDashboard(req, res, path, grant, auth)) return
    const seg = path.split('/')
    const method = req.method ?? 'GET'
    if (await serveObservability(options.observe, path, method, res, async () => await readJson(req, maxBody))) return
    if (seg[0] !== '' || seg[1] !== 'v1') throw noRoute(path)

    if (seg.length === 3 && seg[2] === 'status') {
      allow(method, 'GET')
      sendJson(res, 200, await node.status())
    } else if ((seg.length === 3 || seg.length === 4) && seg[2] === 'peers') {
      await peersRoute(node, method, seg[3], async () => await readJson(req, maxBody), res)
    } else if (seg.length === 3 && seg[2] === 'tickets') {
      allow(method, 'POST')
      if (grant !== 'token') throw new HttpError(401, 'unauthorized', 'tickets are issued only for Authorization: Bearer <token>', { 'www-authenticate': 'Bearer' })
      try {
        sendJson(res, 200, auth.tickets.issue(), { 'cache-control': 'no-store' })
      } catch (err) {
        if (err instanceof TicketsFull) throw new HttpError(503, 'unavailable', err.message, { 'retry-after': String(Math.ceil(err.retryInMs / 1000)) })
        throw err
      }
    } else if (seg.length === 3 && seg[2] === 'events') {
      allow(method, 'GET')
      const prefix = query.get('prefix') ?? ''
      prefixBytes(prefix)
      await eventStream(async () => { await streamChanges(node, prefix, req, res, options.heartbeatMs) })
    } else if (seg.length === 3 && seg[2] === 'keys') {
      allow(method, 'GET')
      const prefix = query.get('prefix') ?? ''
      prefixBytes(prefix) // bad_key if it cannot be a key prefix
      sendJson(res, 200, { keys: await node.keys(prefix) })
    } else if (seg.length === 4 && seg[2] === 'keys') {
      const key = decodeKey(seg[3])
      allow(method, 'GET', 'POST')
      if (method === 'GET') await getKey(key, waitMs(query.get('wait')), req, res)
      else await postKey(key, await readJson(req, maxBody), res)
    } else if (seg.length === 3 && seg[2] === 'journal') {
      allow(method, 'GET')
      const lastId = req.headers['last-event-id']
      const q = journalRequest(query, typeof lastId === 'string' ? lastId : undefined)
      if (!q.follow) sendJson(res, 200, readJournal(node.journal, q))
      else await eventStream(async () => { await followJournal(node.journal, q, req, res, options.heartbeatMs ?? HEARTBEAT_MS) })
    } else if (seg.length === 5 && seg[2] === 'keys' && seg[4] === 'events') {
      const key = decodeKey(seg[3])
      allow(method, 'GET')
      if (openStreams >= limits.maxEventStreams) throw new HttpError(503, 'unavailable', `this daemon already serves its maximum of ${limits.maxEventStreams} event streams; close one or retry later`, { 'retry-after': '5' })
      openStreams++
      try {
        await streamKeyEvents(node, key, req, res, options.heartbeatMs)
      } finally {
        openStreams--
      }
    } else if (seg.length === 5 && seg[2] === 'keys' && (seg[4] === 'inspect' || seg[4] === 'trace')) {
      const key = decodeKey(seg[3])
      allow(method, 'GET')
      await serveInspection(node, key, seg[4], query, res)
    } else if (seg.length === 5 && seg[2] === 'keys' && seg[4] === 'writers') {
      const key = decodeKey(seg[3])
      allow(method, 'POST')
      await postWriters(node, key, await readJson(req, maxBody), res)
    } else {
      throw noRoute(path)
    }
  }

  /** Runs one event stream, counted against maxEventStreams (as the per-key stream above counts itself). */
  async function eventStream (run: () => Promise<void>): Promise<void> {
    if (openStreams >= limits.maxEventStreams) throw new HttpError(503, 'unavailable', `this daemon already serves its maximum of ${limits.maxEventStreams} event streams; close one or retry later`, { 'retry-after': '5' })
    openStreams++
    try {
      await run()
    } finally {
      openStreams--
    }
  }

  async function getKey (key: string, wait: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A client that hangs up stops the wait.
    const gone = new AbortController()
    const onClose = (): void => { gone.abort() }
    req.socket.once('close', onClose)
    try {
      let view
      try {
        view = await node.fetch(key, wait, gone.signal)
      } catch (err) {
        // Held here, but bound to a contract this daemon lacks: not readable here, as for one only peers hold.
        if (err instanceof ContractError && err.code === 'unknown_contract') throw new HttpError(404, 'unknown_contract', err.message)
        throw err
      }
      if (view === undefined) {
        const lacking = node.unknownContractOf(key)
        const why = lacking === undefined
          ? `nor did a peer send it within ${wait} ms`
          : `and what peers sent of it is bound to contract "${lacking}", which this daemon does not have (load it with --contract)`
        throw new HttpError(404, 'not_found', `key ${JSON.stringify(key)} is not held here, ${why}`)
      }
      sendJson(res, 200, view)
    } finally {
      req.socket.off('close', onClose)
    }
  }

  async function postKey (key: string, body: unknown, res: ServerResponse): Promise<void> {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'bad_request', 'the body must be a JSON object {"contract","op","args"}')
    const extra = Object.keys(body).filter(f => !POST_FIELDS.has(f))
    if (extra.length > 0) throw new HttpError(400, 'bad_request', `unknown field(s) ${extra.map(f => JSON.stringify(f)).join(', ')}; the body is {"contract","op","args"} (and "writers" to create an owned key)`)
    const { contract, op, args = [], writers } = body as { contract?: unknown, op?: unknown, args?: unknown, writers?: unknown }
    if (contract === undefined) throw new HttpError(400, 'bad_request', 'the body needs "contract": a contract id or {"id","params"}')
    if (typeof op !== 'string') throw new HttpError(400, 'bad_request', 'the body needs "op": the name of an op, a string')
    if (!Array.isArray(args)) throw new HttpError(400, 'bad_args', `"args" must be a JSON array of the op's arguments, got ${JSON.stringify(args).slice(0, 80)}`)
    const options = writers === undefined ? {} : { writers: publicKeysField('writers', writers) }
    const r = await node.update(key, contract as string, op, args as JsonValue[], options)
    const access = r.owner === undefined ? {} : { owner: r.owner, writers: r.writers }
    sendJson(res, 200, { key: r.key, contract: r.contract, value: r.value, write: r.write ?? null, ...access })
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    // Under the cap: connections queued behind an honest one, accepted in one pass, cannot push it out before its headers are read.
    const backlog = Math.max(1, Math.min(511, Math.floor(limits.maxConnections / 2)))
    server.listen({ host: options.host, port: options.port, backlog }, () => { server.off('error', reject); resolve() })
  })
  const { address, port } = server.address() as AddressInfo
  auth.setPort(port)
  return {
    get openStreams () { return openStreams },
    limits,
    connections: () => cap.stats(),
    url: `${options.tls === undefined ? 'http' : 'https'}://${address.includes(':') ? `[${address}]` : address}:${port}`,
    async close () {
      const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
      server.closeAllConnections()
      await closed
    }
  }
}

/** The options' limits with defaults filled in; a bad one is a RangeError naming it. */
export function httpLimits (options: HttpApiOptions): HttpLimits {
  const headersTimeoutMs = whole('headersTimeoutMs', options.headersTimeoutMs ?? Math.min(HEADERS_TIMEOUT_MS, options.requestTimeoutMs ?? Infinity), 1)
  const requestTimeoutMs = whole('requestTimeoutMs', options.requestTimeoutMs ?? Math.max(REQUEST_TIMEOUT_MS, headersTimeoutMs), 1)
  if (headersTimeoutMs > requestTimeoutMs) throw new RangeError(`headersTimeoutMs (${headersTimeoutMs}) must not be over requestTimeoutMs (${requestTimeoutMs}): the headers are part of the request`)
  const keepAliveTimeoutMs = whole('keepAliveTimeoutMs', options.keepAliveTimeoutMs ?? KEEP_ALIVE_TIMEOUT_MS, 1)
  const maxConnections = whole('maxConnections', options.maxConnections ?? defaultMaxConnections(), 1)
  const maxEventStreams = whole('maxEventStreams', options.maxEventStreams ?? Math.floor(maxConnections / 2), 0)
  if (maxEventStreams >= maxConnections) throw new RangeError(`maxEventStreams (${maxEventStreams}) must be under maxConnections (${maxConnections}), or streams could take every connection`)
  const maxHeaderBytes = whole('maxHeaderBytes', options.maxHeaderBytes ?? MAX_HEADER_BYTES, 1_024)
  return { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, maxConnections, maxEventStreams, maxHeaderBytes }
}

function whole (name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be a whole number ≥ ${min}, got ${value}`)
  return value
}

function allow (method: string, ...methods: string[]): void {
  if (!methods.includes(method)) throw new HttpError(405, 'method_not_allowed', `${method} is not allowed here; use ${methods.join(' or ')}`, { allow: methods.join(', ') })
}

function noRoute (path: string): HttpError {
  return new HttpError(404, 'unknown_route', `no route ${JSON.stringify(path.slice(0, 200))}; routes are under /v1/keys, /v1/status and /v1/peers`)
}

/** A path segment as a key: strict percent-decoding (invalid UTF-8 refused), then the store's key rules. */
function decodeKey (segment: string): string {
  let key: string
  try {
    key = decodeURIComponent(segment)
  } catch {
    throw new HttpError(400, 'bad_key', `key ${JSON.stringify(segment.slice(0, 80))} is not valid percent-encoded UTF-8`)
  }
  keyBytes(key)
  return key
}

/** Like URLSearchParams, but a bad percent-encoding is an error rather than a silent U+FFFD. */
function parseQuery (text: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const part of text.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const [k, v] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)]
    try {
      out.set(decodeURIComponent(k.replaceAll('+', ' ')), decodeURIComponent(v.replaceAll('+', ' ')))
    } catch {
      throw new HttpError(400, 'bad_request', `query parameter ${JSON.stringify(part.slice(0, 80))} is not valid percent-encoded UTF-8`)
    }
  }
  return out
}

function waitMs (text: string | undefined): number {
  if (text === undefined) return DEFAULT_WAIT_MS
  const n = /^\d{1,6}$/.test(text) ? Number(text) : NaN
  if (!(n <= MAX_WAIT_MS)) throw new HttpError(400, 'bad_wait', `wait must be a whole number of milliseconds from 0 to ${MAX_WAIT_MS}, got ${JSON.stringify(text.slice(0, 40))}`)
  return n
}

/** Reads and parses a JSON body of at most `max` bytes; refuses larger ones without reading them. */
async function readJson (req: IncomingMessage, max: number): Promise<unknown> {
  const message = `the body is over the ${max}-byte limit`
  const declared = Number(req.headers['content-length'])
  if (declared > max) throw new HttpError(400, 'body_too_large', message, { connection: 'close' })
  // Events, not for-await: leaving a for-await over req destroys the socket before the 400 is sent.
  const body = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size <= max) { chunks.push(chunk); return }
      req.off('data', onData).off('end', onEnd).off('error', reject)
      // Read the rest and drop it: closing while the client still sends cuts its upload (EPIPE) before it reads our 400.
      discardRest(req)
      reject(new HttpError(400, 'body_too_large', message))
    }
    const onEnd = (): void => { resolve(Buffer.concat(chunks)) }
    req.on('data', onData).once('end', onEnd).once('error', reject)
  })
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body)
  } catch {
    throw new HttpError(400, 'bad_json', 'the body is not valid UTF-8')
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new HttpError(400, 'bad_json', `the body is not JSON: ${(err as Error).message}`)
  }
}

/** A refused body is read and dropped for at most this long; then the connection is cut. */
const DISCARD_MS = 10_000

function discardRest (req: IncomingMessage): void {
  const cut = setTimeout(() => { req.socket.destroy() }, DISCARD_MS)
  cut.unref()
  req.once('end', () => { clearTimeout(cut) }).once('close', () => { clearTimeout(cut) })
  req.resume()
}
