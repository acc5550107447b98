/**
 * The bytes an owned key's signatures cover (PROTOCOL.md "Owned keys"):
 *   "monoidb/owned/1" || sha256(canonical params) || kind (1 byte) || body
 *   entry (1), checkpoint (2): writer id (8) || gen (u64) || lane (8) || n (u64) || sha256(canonical delta or state)
 *   grant (3):                 public key (32) || gen (u64)
 *   revoke (4):                public key (32) || gen (u64) || sha256(canonical frozen)
 * The params name the key, its inner contract and its first writers, so a signed change can never be replayed
 * into another key; the block id and n pin it to its place; the hash pins its content.
 */
import { createHash } from 'node:crypto'
import { type Plain, encode } from '../codec.ts'
import type { Bytes, Frozen } from './state.ts'

export const DOMAIN = new TextEncoder().encode('monoidb/owned/1')
export const KIND_ENTRY = 1
export const KIND_CKPT = 2
export const KIND_GRANT = 3
export const KIND_REVOKE = 4

function u64 (n: number): Uint8Array {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setBigUint64(0, BigInt(n))
  return b
}

function sha (x: Plain | Frozen): Uint8Array {
  return createHash('sha256').update(encode(x)).digest()
}

export function paramsHash (params: Plain): Uint8Array {
  return sha(params)
}

function join (parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts))
}

export function itemBytes (ph: Uint8Array, kind: typeof KIND_ENTRY | typeof KIND_CKPT, wid: Bytes, gen: number, lane: Bytes, n: number, body: Plain): Uint8Array {
  return join([DOMAIN, ph, Uint8Array.of(kind), wid, u64(gen), lane, u64(n), sha(body)])
}

export function grantBytes (ph: Uint8Array, pub: Bytes, gen: number): Uint8Array {
  return join([DOMAIN, ph, Uint8Array.of(KIND_GRANT), pub, u64(gen)])
}

export function revokeBytes (ph: Uint8Array, pub: Bytes, gen: number, frozen: Frozen): Uint8Array {
  return join([DOMAIN, ph, Uint8Array.of(KIND_REVOKE), pub, u64(gen), sha(frozen)])
}
