// TEMPORARY: the envelope branch's interface (core/envelope/index.ts), until `git merge envelope`. Deleted on merge.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto'
import { ContractError } from '../core/errors.ts'
import type { AnyContract } from '../core/contract.ts'
import type { BoundRef } from '../core/subscription.ts'

export interface SigningKey { readonly publicKey: string, sign: (bytes: Uint8Array) => Uint8Array }

export const OWNED = 'owned'

function fromKeyObject (key: KeyObject): SigningKey {
  const der = createPublicKey(key).export({ format: 'der', type: 'spki' })
  const publicKey = 'ed25519:' + Buffer.from(der.subarray(der.length - 32)).toString('base64url')
  return { publicKey, sign: bytes => new Uint8Array(edSign(null, bytes, key)) }
}

export function generateSigningKey (): { pem: string, key: SigningKey } {
  const { privateKey } = generateKeyPairSync('ed25519')
  return { pem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, key: fromKeyObject(privateKey) }
}

export function signingKeyFromPem (pem: string): SigningKey {
  let key: KeyObject
  try {
    key = createPrivateKey({ key: pem, format: 'pem' })
  } catch {
    throw new Error('not an Ed25519 PKCS#8 private key')
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 PKCS#8 private key')
  return fromKeyObject(key)
}

export function parsePublicKey (s: string): Uint8Array {
  const m = typeof s === 'string' ? /^ed25519:([A-Za-z0-9_-]{43})$/.exec(s) : null
  const bytes = m === null ? undefined : Buffer.from(m[1], 'base64url')
  if (bytes?.length !== 32) throw new ContractError('bad_args', `${JSON.stringify(s)} is not a public key ed25519:<base64url of 32 bytes>`)
  return new Uint8Array(bytes)
}

export function ownedInfo (binding: BoundRef): { inner: BoundRef, writers0: string[] } | undefined {
  if (binding.id !== OWNED) return undefined
  const p = binding.params as { contract: string | BoundRef, writers: string[] }
  return { inner: typeof p.contract === 'string' ? { id: p.contract } : p.contract, writers0: p.writers }
}

export function accessOf (_contract: AnyContract, _state: unknown): { owner: string, writers: string[] } | undefined {
  throw new Error('accessOf: not merged yet')
}
