/**
 * Ed25519 signing keys and public keys for owned keys (node:crypto). Public keys are written
 * `ed25519:<base64url of the 32 bytes, no padding>`. Verification goes through a bounded cache keyed by
 * a hash of (public key, message, signature), so a change relayed by many peers is verified once.
 */
import { type KeyObject, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto'
import { ContractError } from '../errors.ts'
import { LruCache } from '../lru-cache.ts'

/** What signs writes to owned keys: the writer's public key and a signing function (the private key stays inside). */
export interface SigningKey {
  readonly publicKey: string
  sign (bytes: Uint8Array): Uint8Array
}

export const PUBLIC_KEY_PREFIX = 'ed25519:'
const B64URL = /^[A-Za-z0-9_-]{43}$/

function keyFrom (privateKey: KeyObject): SigningKey {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as { x: string }
  const publicKey = PUBLIC_KEY_PREFIX + jwk.x
  // A plain object: the private KeyObject is reachable only through this closure, never printed by a log line.
  return {
    publicKey,
    sign: bytes => new Uint8Array(sign(null, bytes, privateKey)),
    toJSON: () => ({ publicKey })
  } as SigningKey
}

/** A new Ed25519 signing key and its PKCS#8 PEM. */
export function generateSigningKey (): { pem: string, key: SigningKey } {
  const { privateKey } = generateKeyPairSync('ed25519')
  return { pem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, key: keyFrom(privateKey) }
}

/** The signing key in a PKCS#8 PEM; throws Error('... not an Ed25519 PKCS#8 private key') (never echoing the PEM). */
export function signingKeyFromPem (pem: string): SigningKey {
  let k: KeyObject
  try {
    k = createPrivateKey({ key: pem, format: 'pem' })
  } catch {
    throw new Error('the signing key file is not an Ed25519 PKCS#8 private key (PEM "BEGIN PRIVATE KEY")')
  }
  if (k.asymmetricKeyType !== 'ed25519') throw new Error(`the signing key file holds a ${k.asymmetricKeyType ?? 'non-asymmetric'} key, not an Ed25519 PKCS#8 private key`)
  return keyFrom(k)
}

/** The 32 bytes of a public key written `ed25519:<base64url>`; throws ContractError('bad_args'). */
export function parsePublicKey (s: string): Uint8Array {
  if (typeof s !== 'string' || !s.startsWith(PUBLIC_KEY_PREFIX) || !B64URL.test(s.slice(PUBLIC_KEY_PREFIX.length))) {
    throw new ContractError('bad_args', `public key ${JSON.stringify(typeof s === 'string' ? s.slice(0, 60) : s)} is not "ed25519:" and 43 base64url characters (32 bytes)`)
  }
  const bytes = new Uint8Array(Buffer.from(s.slice(PUBLIC_KEY_PREFIX.length), 'base64url'))
  if (bytes.length !== 32 || formatPublicKey(bytes) !== s) throw new ContractError('bad_args', `public key ${JSON.stringify(s)} is not canonical base64url of 32 bytes`)
  return bytes
}

/** `ed25519:<base64url>` of 32 public-key bytes. */
export function formatPublicKey (bytes: Uint8Array): string {
  return PUBLIC_KEY_PREFIX + Buffer.from(bytes).toString('base64url')
}

const keyObjects = new LruCache<string, KeyObject | null>(1024)

function publicKeyObject (pub: Uint8Array): KeyObject | null {
  const x = Buffer.from(pub).toString('base64url')
  let k = keyObjects.get(x)
  if (k === undefined) {
    try {
      k = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' })
    } catch {
      k = null // not a point on the curve: nothing verifies under it
    }
    keyObjects.set(x, k)
  }
  return k
}

/** Verified (public key, message, signature) triples, by hash; only successes are kept (a forger cannot fill it with failures that evict them). */
const verified = new LruCache<string, true>(65536)
export const verifyStats = { checks: 0, hits: 0 }

/** True when `sig` is `pub`'s Ed25519 signature of `msg`. Cached: the same triple is verified once. */
export function verifySignature (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (pub.length !== 32 || sig.length !== 64) return false
  verifyStats.checks++
  const id = createHash('sha256').update(pub).update(sig).update(msg).digest('base64')
  if (verified.get(id) === true) {
    verifyStats.hits++
    return true
  }
  const k = publicKeyObject(pub)
  if (k === null) return false
  let ok: boolean
  try {
    ok = verify(null, msg, k, sig)
  } catch {
    ok = false
  }
  if (ok) verified.set(id, true)
  return ok
}

/** Forgets every cached verification (tests measuring the uncached cost). */
export function clearVerifyCache (): void {
  verified.clear()
}
