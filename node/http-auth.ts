/**
 * Who may make a request to the HTTP API, and by what:
 *
 * - `Authorization: Bearer <token>`: everything (the token is in daemon.json).
 * - `?ticket=T` (node/tickets.ts, from POST /v1/tickets): event streams
 *   (GET /v1/keys/{key}/events, GET /v1/events, GET /v1/journal?follow=1) and
 *   the dashboard page, which trades it for a cookie. Browsers cannot put a
 *   header on an EventSource, and the token must never travel in a URL.
 * - the dashboard's session cookie (`monoidb-<port>`, HttpOnly,
 *   SameSite=Strict): GET requests; any other method also needs an Origin
 *   header naming this daemon (the page's own), so a cross-site form cannot
 *   use it even where a browser ignores SameSite. The name carries the port
 *   because cookies are per host, not per port: two daemons on one machine
 *   must not overwrite each other's.
 *
 * A request that carries a header, a ticket or a cookie that does not hold is
 * refused (401) naming which, never silently tried with another.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { HttpError } from './http-errors.ts'
import { Tickets } from './tickets.ts'

export type Grant = 'token' | 'ticket' | 'cookie'

/** A dashboard session lasts this long after its ticket was traded (a restart of the daemon ends it too). */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000
/** Dashboard sessions kept at most; a new one past this ends the oldest. */
export const MAX_SESSIONS = 64

export class ApiAuth {
  readonly tickets: Tickets
  readonly sessions: Tickets
  readonly #tokenHash: Buffer
  #cookieName = 'monoidb'
  /** Served over HTTPS: the cookie is Secure, and the dashboard's origin is https://. */
  readonly #secure: boolean

  constructor (token: string, options: { ticketTtlMs?: number, maxTickets?: number, secure?: boolean } = {}) {
    this.#tokenHash = sha256(token)
    this.#secure = options.secure === true
    this.tickets = new Tickets({ ttlMs: options.ticketTtlMs, max: options.maxTickets })
    this.sessions = new Tickets({ ttlMs: SESSION_TTL_MS, max: MAX_SESSIONS, evictOldest: true })
  }

  /** Names the cookie after the port the API bound (known only once it listens). */
  setPort (port: number): void {
    this.#cookieName = `monoidb-${port}`
  }

  get cookieName (): string { return this.#cookieName }

  /** The Set-Cookie value of a new dashboard session. */
  newSessionCookie (): string {
    const { ticket } = this.sessions.issue()
    return `${this.#cookieName}=${ticket}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(SESSION_TTL_MS / 1000)}${this.#secure ? '; Secure' : ''}`
  }

  /** How the request is authorised, or a 401 naming what is missing or wrong. */
  check (req: IncomingMessage, path: string, query: ReadonlyMap<string, string>): Grant {
    const header = req.headers.authorization
    if (header !== undefined) {
      const m = /^Bearer +(\S+) *$/i.exec(header)
      if (m === null || !timingSafeEqual(sha256(m[1]), this.#tokenHash)) throw unauthorized('the bearer token is not this daemon\'s')
      return 'token'
    }
    const ticket = query.get('ticket')
    if (ticket !== undefined) {
      if (!ticketRoute(req.method ?? 'GET', path, query)) throw unauthorized('a ticket authorises only event streams (GET …/events, GET /v1/journal?follow=1) and the dashboard (GET /); other requests need Authorization: Bearer <token>')
      if (!this.tickets.valid(ticket)) throw unauthorized('the ticket is expired or unknown (tickets last 60 s): get a new one with POST /v1/tickets, or run `monoidb dashboard` for a new dashboard link')
      return 'ticket'
    }
    const session = cookieValue(req.headers.cookie, this.#cookieName)
    if (session !== undefined) {
      if (!this.sessions.valid(session)) throw unauthorized('the dashboard session is over (the daemon restarted, or it expired): run `monoidb dashboard` for a new link')
      const method = req.method ?? 'GET'
      const scheme = this.#secure ? 'https' : 'http'
      if (method !== 'GET' && method !== 'HEAD' && !sameOrigin(req, scheme)) throw new HttpError(403, 'unauthorized', `a ${method} authorised by the dashboard cookie must come from the dashboard's own page (Origin ${JSON.stringify(`${scheme}://${req.headers.host ?? ''}`)})`)
      return 'cookie'
    }
    if (path === '/') throw unauthorized('the dashboard opens with the link `monoidb dashboard` prints (it carries a ticket); this browser has no session here')
    throw unauthorized('missing Authorization: Bearer <token> (the token is in daemon.json)')
  }
}

/** The routes a ticket may open: event streams, and the dashboard page that trades it for a cookie. */
function ticketRoute (method: string, path: string, query: ReadonlyMap<string, string>): boolean {
  if (method !== 'GET') return false
  if (path === '/' || path === '/v1/events') return true
  if (path === '/v1/journal') return query.get('follow') === '1'
  return /^\/v1\/keys\/[^/]+\/events$/.test(path)
}

function sameOrigin (req: IncomingMessage, scheme: string): boolean {
  const origin = req.headers.origin
  const host = req.headers.host
  return origin !== undefined && host !== undefined && origin === `${scheme}://${host}` && (req.headers['sec-fetch-site'] ?? 'same-origin') === 'same-origin'
}

/** The value of cookie `name` in a Cookie header, if there is exactly one. */
function cookieValue (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  const values = header.split(';').map(p => p.trim()).filter(p => p.startsWith(`${name}=`)).map(p => p.slice(name.length + 1))
  return values.length === 1 ? values[0] : undefined
}

/** A request URL fit for a log line: the value of any `ticket` parameter replaced (tickets are never logged). */
export function loggableUrl (url: string): string {
  return url.replace(/([?&]ticket=)[^&#]*/g, '$1(redacted)')
}

function unauthorized (message: string): HttpError {
  return new HttpError(401, 'unauthorized', message, { 'www-authenticate': 'Bearer' })
}

function sha256 (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}
