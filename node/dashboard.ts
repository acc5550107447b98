/**
 * GET / : the dashboard, a static page (node/dashboard/: index.html, one
 * script, one stylesheet; no build step) that reads the API from the browser.
 * Opened as `/?ticket=T` (`monoidb dashboard` prints such a link) it trades the
 * ticket for its session cookie and redirects to `/` (a meta refresh, see
 * below), so the ticket leaves the address bar and the history; the cookie then authorises the page's requests
 * (node/http-auth.ts). The page holds no secret: neither token nor ticket is
 * ever in its source. Every response carries a Content-Security-Policy that
 * allows only this origin's script, style and connections (no inline script).
 */
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ApiAuth, Grant } from './http-auth.ts'
import { HttpError } from './http-errors.ts'

const ASSETS: Record<string, { file: string, type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' }
}

const ENTERING = '<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=/"><title>monoidb dashboard</title><p><a href="/">Open the dashboard</a></p>\n'

/** Read once, at the first request: the daemon serves them from memory. */
const cache = new Map<string, Buffer>()

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store'
}

/** Serves the page and its assets; false for any other path (the API's routes). */
export function serveDashboard (req: IncomingMessage, res: ServerResponse, path: string, grant: Grant, auth: ApiAuth): boolean {
  const asset = ASSETS[path]
  if (asset === undefined) return false
  const method = req.method ?? 'GET'
  if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', `${method} is not allowed here; use GET`, { allow: 'GET, HEAD' })
  if (grant === 'ticket') {
    // The ticket is traded for a session, then the page reloads itself as / so the ticket leaves the address bar
    // (no-referrer keeps it out of any Referer). A meta refresh, not a 303: a 303 ending a navigation that began on
    // another site (a link clicked in a web chat) is a cross-site request, and the browser would hold back the
    // SameSite=Strict cookie just set; the page's own navigation is same-site.
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'set-cookie': auth.newSessionCookie(), 'content-length': Buffer.byteLength(ENTERING) })
    res.end(method === 'HEAD' ? undefined : ENTERING)
    return true
  }
  let body = cache.get(asset.file)
  if (body === undefined) {
    body = readFileSync(new URL(`./dashboard/${asset.file}`, import.meta.url))
    cache.set(asset.file, body)
  }
  res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.type, 'content-length': body.length })
  res.end(method === 'HEAD' ? undefined : body)
  return true
}
