/**
 * The HTTP API's errors: every failure is an HttpError with a status and a
 * stable code, sent as {"error":{"code","message"}}. ContractErrors from the
 * store keep their code (bad_key, unknown_contract, …); anything else is an
 * internal error whose message is not leaked beyond its text.
 */
import type { ServerResponse } from 'node:http'
import { ContractError, type ContractErrorCode } from '../core/errors.ts'

/** Codes the HTTP layer adds to the ContractError codes. */
export type HttpErrorCode =
  | ContractErrorCode
  | 'unauthorized'
  | 'not_found'
  | 'unknown_route'
  | 'method_not_allowed'
  | 'bad_json'
  | 'bad_request'
  | 'body_too_large'
  | 'bad_wait'
  | 'bad_multiaddr'
  | 'bad_peer_id'
  | 'bad_timeout'
  | 'bad_write_id'
  | 'bad_level'
  | 'unavailable'
  | 'internal'

export class HttpError extends Error {
  readonly status: number
  readonly code: HttpErrorCode
  /** Extra response headers (Allow for 405, WWW-Authenticate for 401). */
  readonly headers: Record<string, string>
  constructor (status: number, code: HttpErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.name = 'HttpError'
    this.status = status
    this.code = code
    this.headers = headers
  }
}

/** A key bound to another contract is a conflict; a write this daemon's signing key may not make is forbidden; every other contract-level refusal is the request's fault. */
const CONTRACT_STATUS: Partial<Record<ContractErrorCode, number>> = { contract_mismatch: 409, unauthorized_write: 403 }

/** Any thrown value as the HttpError the client sees. */
export function toHttpError (err: unknown): HttpError {
  if (err instanceof HttpError) return err
  if (err instanceof ContractError) return new HttpError(CONTRACT_STATUS[err.code] ?? 400, err.code, err.message)
  const message = err instanceof Error ? err.message : String(err)
  // MonoidbNode refuses work once stop() has begun (node/node.ts #checkRunning).
  if (/ is stopped$/.test(message)) return new HttpError(503, 'unavailable', 'the node is shutting down')
  return new HttpError(500, 'internal', message)
}

export function sendJson (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

export function sendError (res: ServerResponse, err: unknown): void {
  const e = toHttpError(err)
  if (res.headersSent) { res.destroy(); return } // mid-stream: nothing sensible can be said any more
  sendJson(res, e.status, { error: { code: e.code, message: e.message } }, e.headers)
}
