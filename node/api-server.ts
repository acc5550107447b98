/**
 * The API's listening server: node:http, or node:https with --api-tls-cert and
 * --api-tls-key. Either way a slow client is bounded: the TLS handshake must
 * finish within the headers timeout (tls's own default is 120 s), the headers
 * within headersTimeoutMs, the whole request within requestTimeoutMs, and the
 * headers may not exceed maxHeaderBytes (431 Request Header Fields Too Large).
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'

/** The API's certificate chain and private key, PEM (node/api-tls.ts reads and checks the files). */
export interface ApiTls {
  cert: string | Buffer
  key: string | Buffer
}

export interface ServerLimits {
  headersTimeoutMs: number
  requestTimeoutMs: number
  keepAliveTimeoutMs: number
  maxHeaderBytes: number
}

export function createApiServer (limits: ServerLimits, tls: ApiTls | undefined, handler: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const options = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxHeaderSize: limits.maxHeaderBytes,
    // How often node looks for connections past those timeouts (its default, 30 s, would let a silent one live 40 s).
    connectionsCheckingInterval: Math.max(10, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4)))
  }
  if (tls === undefined) return createServer(options, handler)
  // An https.Server is an http.Server for everything the API uses (routing, timeouts, close).
  return createHttpsServer({ ...options, cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', handshakeTimeout: limits.headersTimeoutMs }, handler) as unknown as Server
}
