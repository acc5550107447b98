/**
 * fetch over node:https trusting one more certificate: the typed client's
 * transport for a daemon serving HTTPS with a certificate no public authority
 * signed (a self-signed one, say). The global fetch cannot take a CA without
 * undici's Agent, which is not a dependency; node:https can. The certificate
 * given is trusted as it stands (partial chain: a leaf or an intermediate
 * anchors the chain), besides the usual public roots; the host name is
 * checked as always.
 */
import { rootCertificates } from 'node:tls'
import { request } from 'node:https'
import { Readable } from 'node:stream'

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>

/** A fetch for https:// URLs that also trusts `ca` (PEM: one certificate or several). */
export function fetchTrusting (ca: string | Buffer): FetchLike {
  const trusted = [...rootCertificates, String(ca)]
  return async (url, init = {}) => await new Promise<Response>((resolve, reject) => {
    const u = new URL(url)
    if (u.protocol !== 'https:') { reject(new TypeError(`a CA is for https:// URLs, not ${u.protocol}`)); return }
    const headers = Object.fromEntries(new Headers(init.headers).entries())
    const body = init.body === undefined || init.body === null ? undefined : String(init.body)
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body))
    const req = request(u, {
      method: init.method ?? 'GET',
      headers,
      ca: trusted,
      allowPartialTrustChain: true,
      signal: init.signal ?? undefined
    }, res => {
      const status = res.statusCode ?? 0
      const h = new Headers()
      for (const [k, v] of Object.entries(res.headers)) {
        if (v !== undefined) for (const one of Array.isArray(v) ? v : [v]) h.append(k, one)
      }
      const empty = status === 204 || status === 304 || init.method === 'HEAD'
      if (empty) res.resume()
      resolve(new Response(empty ? null : Readable.toWeb(res) as ReadableStream<Uint8Array>, { status, statusText: res.statusMessage, headers: h }))
    })
    // As fetch does: a failure to connect is a TypeError whose cause is the system error.
    req.once('error', err => { reject(init.signal?.aborted === true ? err : new TypeError('fetch failed', { cause: err })) })
    req.end(body)
  })
}
