/**
 * The HTTP API's owned-key parts (README "Owned keys"):
 *
 *   POST /v1/keys/{key}           "writers":[PUBKEY,…] in the body creates an owned key (the first: its owner)
 *   POST /v1/keys/{key}/writers   {"grant":[PUBKEY,…]} or {"revoke":[PUBKEY,…], "freeze"?: "all"|"none"} → {"key","owner","writers"} (owner only)
 *
 * Public keys are checked here so that a bad one is named before anything runs.
 * A write the daemon's signing key may not make is the store's ContractError
 * 'unauthorized_write', sent as 403 (node/http-errors.ts).
 */
import type { ServerResponse } from 'node:http'
import { parsePublicKey } from '../core/envelope/index.ts'
import { HttpError, sendJson } from './http-errors.ts'
import type { MonoidbNode } from './node.ts'

/** A key names at most this many writers in one request (the binding's own bound is the envelope's). */
const MAX_LISTED = 64

/** A list of public keys from a request body: a non-empty array of `ed25519:…` strings, else 400 bad_args naming the bad one. */
export function publicKeysField (name: string, x: unknown): string[] {
  if (!Array.isArray(x) || x.length === 0) throw new HttpError(400, 'bad_args', `"${name}" must be a non-empty array of public keys ("ed25519:<base64url>"), got ${JSON.stringify(x)?.slice(0, 80)}`)
  if (x.length > MAX_LISTED) throw new HttpError(400, 'bad_args', `"${name}" lists ${x.length} public keys; at most ${MAX_LISTED}`)
  for (const [i, k] of x.entries()) {
    try {
      parsePublicKey(k as string)
    } catch {
      throw new HttpError(400, 'bad_args', `"${name}"[${i}], ${JSON.stringify(k)?.slice(0, 80)}, is not a public key: expected "ed25519:<base64url of 32 bytes>", as monoidb keygen prints it`)
    }
  }
  return x as string[]
}

/** POST /v1/keys/{key}/writers. */
export async function postWriters (node: MonoidbNode, key: string, body: unknown, res: ServerResponse): Promise<void> {
  const shape = 'the body must be {"grant":[PUBKEY,…]} or {"revoke":[PUBKEY,…]} (and "freeze": "all" or "none" beside "revoke")'
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'bad_request', shape)
  const { freeze, ...rest } = body as Record<string, unknown>
  if (freeze !== undefined && (!('revoke' in rest) || (freeze !== 'all' && freeze !== 'none'))) throw new HttpError(400, 'bad_request', `"freeze" goes with "revoke" and is "all" or "none", got ${JSON.stringify(freeze)?.slice(0, 40)}`)
  const fields = Object.keys(rest)
  if (fields.length !== 1 || (fields[0] !== 'grant' && fields[0] !== 'revoke')) throw new HttpError(400, 'bad_request', `${shape}, got field(s) ${fields.map(f => JSON.stringify(f)).join(', ') || 'none'}`)
  const field = fields[0]
  const keys = publicKeysField(field, (body as Record<string, unknown>)[field])
  const r = await node.writers(key, field === 'grant' ? { grant: keys } : { revoke: keys, ...freeze === undefined ? {} : { freeze: freeze as 'all' | 'none' } })
  if (r === undefined) throw new HttpError(404, 'not_found', `key ${JSON.stringify(key)} is not held here: only its owner's daemon, holding it, can change its writers`)
  sendJson(res, 200, r)
}
