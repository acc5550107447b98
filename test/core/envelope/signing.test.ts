// Signing keys: PEM round trip, public key form, refusals that never echo a secret, and the verification cache.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { ContractError } from '../../../core/errors.ts'
import { clearVerifyCache, formatPublicKey, generateSigningKey, parsePublicKey, signingKeyFromPem, verifySignature, verifyStats } from '../../../core/envelope/index.ts'

test('a generated key reads back from its PEM, signs, and shows no secret when printed', () => {
  const { pem, key } = generateSigningKey()
  assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/)
  const again = signingKeyFromPem(pem)
  assert.equal(again.publicKey, key.publicKey)
  assert.match(key.publicKey, /^ed25519:[A-Za-z0-9_-]{43}$/)
  const msg = new TextEncoder().encode('hello')
  const sig = again.sign(msg)
  assert.equal(sig.length, 64)
  assert.ok(verifySignature(parsePublicKey(key.publicKey), msg, sig))
  assert.ok(!verifySignature(parsePublicKey(key.publicKey), new TextEncoder().encode('hellO'), sig))
  const secret = pem.split('\n')[1]
  for (const shown of [inspect(key, { depth: 5, showHidden: true }), JSON.stringify(key), String(key)]) {
    assert.ok(!shown.includes(secret.slice(10, 30)), `no secret in ${shown}`)
  }
  assert.deepEqual(JSON.parse(JSON.stringify(key)), { publicKey: key.publicKey })
})

test('a PEM that is not an Ed25519 PKCS#8 key is refused, without echoing it', async () => {
  const { generateKeyPairSync } = await import('node:crypto')
  const rsa = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
  for (const pem of ['not a pem at all SECRETSECRET', rsa, '-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n']) {
    const body = pem.split('\n')[1] ?? pem
    assert.throws(() => signingKeyFromPem(pem), (err: unknown) => err instanceof Error && /not an Ed25519 PKCS#8 private key/.test(err.message) && !err.message.includes('SECRET') && !err.message.includes(body.slice(5, 25)))
  }
})

test('public keys: exactly "ed25519:" and 43 base64url characters; anything else is bad_args', () => {
  const { key } = generateSigningKey()
  const bytes = parsePublicKey(key.publicKey)
  assert.equal(bytes.length, 32)
  assert.equal(formatPublicKey(bytes), key.publicKey)
  const x = key.publicKey.slice(8)
  for (const bad of ['', x, `ed25519:${x}=`, `ED25519:${x}`, `ed25519:${x.slice(1)}`, `ed25519:${x}A`, `ed25519:${x.slice(0, 42)}+`, 42 as never]) {
    assert.throws(() => parsePublicKey(bad), (err: unknown) => err instanceof ContractError && err.code === 'bad_args', String(bad))
  }
})

test('a verified signature is remembered: the second check is a cache hit; failures are not remembered', () => {
  const { key } = generateSigningKey()
  const pub = parsePublicKey(key.publicKey)
  const msg = new TextEncoder().encode('relayed change')
  const sig = key.sign(msg)
  clearVerifyCache()
  const before = { ...verifyStats }
  assert.ok(verifySignature(pub, msg, sig))
  assert.ok(verifySignature(pub, msg, sig))
  assert.equal(verifyStats.checks - before.checks, 2)
  assert.equal(verifyStats.hits - before.hits, 1)
  const forged = new Uint8Array(sig); forged[0] ^= 1
  assert.ok(!verifySignature(pub, msg, forged))
  assert.ok(!verifySignature(pub, msg, forged))
  assert.equal(verifyStats.hits - before.hits, 1, 'a failure is checked again, never served from the cache')
  assert.ok(!verifySignature(new Uint8Array(32).fill(0xff), msg, sig), 'a key that is no curve point verifies nothing')
})
