// Bad requests against a real daemon get the documented 4xx status and error code (README "HTTP API");
// afterwards the daemon still serves, and no bad request changed or created any key.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { MAX_BODY_BYTES } from '../../node/http-api.ts'
import { type DaemonProcess, daemonFixtures, sortedJson } from '../helpers/daemon-fixtures.ts'

const fx = await daemonFixtures('bad-input')
let d: DaemonProcess
before(async () => { d = await fx.start() }, { timeout: 20_000 })
after(async () => { await fx.cleanup() })

interface Reply { status: number, body: any }

/** A raw request (the client would refuse to send most of these); `token: null` sends no Authorization header. */
async function call (method: string, path: string, options: { body?: BodyInit, json?: unknown, token?: string | null } = {}): Promise<Reply> {
  const headers: Record<string, string> = {}
  if (options.token !== null) headers.authorization = `Bearer ${options.token ?? d.info.token}`
  const body = options.json !== undefined ? JSON.stringify(options.json) : options.body
  const init: RequestInit & { duplex?: 'half' } = { method, headers, body }
  if (body instanceof ReadableStream) init.duplex = 'half'
  const res = await fetch(d.info.api + path, init).catch((err: Error) => {
    throw new Error(`${method} ${path.slice(0, 60)}: ${err.message} (${String((err.cause as Error | undefined)?.message)})`)
  })
  const text = await res.text()
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch { parsed = text }
  return { status: res.status, body: parsed }
}

function assertError (r: Reply, status: number, code: string, what: string): void {
  assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`)
  assert.equal(r.body?.error?.code, code, `${what}: ${JSON.stringify(r.body)}`)
  assert.ok(typeof r.body.error.message === 'string' && r.body.error.message.length > 0, `${what}: a message`)
}

test('every kind of bad request gets its documented status and code; the daemon then serves a good one and no key changed', { timeout: 30_000 }, async () => {
  const key = 'e2e/bad/cart'
  const path = `/v1/keys/${encodeURIComponent(key)}`
  const fresh = `/v1/keys/${encodeURIComponent('e2e/bad/fresh')}`
  assert.equal((await call('POST', path, { json: { contract: 'or-set', op: 'add', args: ['apples'] } })).status, 200)
  const before = await d.client.get(key)

  // Malformed JSON bodies.
  assertError(await call('POST', path, { body: '{"contract": "or-set", "op": "add", "args": ["x"' }), 400, 'bad_json', 'truncated JSON')
  assertError(await call('POST', path, { body: 'add apples' }), 400, 'bad_json', 'not JSON')
  assertError(await call('POST', path, { body: new Uint8Array([0x7b, 0xff, 0x7d]) }), 400, 'bad_json', 'not UTF-8')
  assertError(await call('POST', path, { json: ['or-set', 'add'] }), 400, 'bad_request', 'an array body')
  assertError(await call('POST', path, { json: { contract: 'or-set', op: 'add', argz: ['x'] } }), 400, 'bad_request', 'an unknown field')

  // Unknown contract, unknown op, wrong args; a key bound to another contract.
  assertError(await call('POST', fresh, { json: { contract: 'no-such-contract', op: 'add', args: ['x'] } }), 400, 'unknown_contract', 'unknown contract')
  assertError(await call('POST', fresh, { json: { contract: { id: 'no-such-contract', params: {} }, op: 'add', args: ['x'] } }), 400, 'unknown_contract', 'unknown contract ref')
  assertError(await call('POST', path, { json: { contract: 'or-set', op: 'explode', args: [] } }), 400, 'unknown_op', 'unknown op')
  assertError(await call('POST', fresh, { json: { contract: 'pn-counter', op: 'inc', args: ['five'] } }), 400, 'bad_args', 'a string amount')
  assertError(await call('POST', fresh, { json: { contract: 'pn-counter', op: 'inc', args: [-3] } }), 400, 'bad_args', 'a negative amount')
  assertError(await call('POST', path, { json: { contract: 'or-set', op: 'add', args: ['x', 'y'] } }), 400, 'bad_args', 'two values to add')
  assertError(await call('POST', path, { json: { contract: 'or-set', op: 'add', args: 'x' } }), 400, 'bad_args', 'args not an array')
  assertError(await call('POST', path, { json: { contract: 'g-counter', op: 'inc', args: [1] } }), 409, 'contract_mismatch', 'another contract')

  // A body over 1 MiB, declared by Content-Length, and streamed without one (many times: the client must
  // get the 400 each time, not lose it to a connection cut while it still sends).
  const huge = JSON.stringify({ contract: 'or-set', op: 'add', args: ['x'.repeat(MAX_BODY_BYTES)] })
  assertError(await call('POST', path, { body: huge }), 400, 'body_too_large', 'huge body by Content-Length')
  assertError(await call('POST', fresh, { body: huge }), 400, 'body_too_large', 'huge body to a fresh key')
  const chunk = new Uint8Array(64 * 1024).fill(0x20)
  for (let i = 0; i < 30; i++) {
    let sent = 0
    const stream = new ReadableStream<Uint8Array>({
      pull (c) { if (sent > 2 * MAX_BODY_BYTES) c.close(); else { sent += chunk.length; c.enqueue(chunk) } }
    })
    assertError(await call('POST', path, { body: stream }), 400, 'body_too_large', `huge streamed body, try ${i}`)
  }

  // Missing and wrong tokens, on reads and writes.
  assertError(await call('GET', path, { token: null }), 401, 'unauthorized', 'GET without a token')
  assertError(await call('POST', path, { token: null, json: { contract: 'or-set', op: 'add', args: ['x'] } }), 401, 'unauthorized', 'POST without a token')
  assertError(await call('GET', path, { token: 'f'.repeat(64) }), 401, 'unauthorized', 'GET with a wrong token')
  assertError(await call('POST', path, { token: d.info.token.slice(1), json: { contract: 'or-set', op: 'add', args: ['x'] } }), 401, 'unauthorized', 'POST with a wrong token')
  assertError(await call('GET', '/v1/status', { token: d.info.token + '0' }), 401, 'unauthorized', 'status with a wrong token')

  // Bad keys: empty, over 1024 bytes (ASCII and UTF-8), invalid percent-encoding.
  const add = { json: { contract: 'or-set', op: 'add', args: ['x'] } }
  for (const [p, what] of [
    ['/v1/keys/', 'empty key'], [`/v1/keys/${'k'.repeat(1025)}`, '1025-byte key'], [`/v1/keys/${encodeURIComponent('é'.repeat(513))}`, '1026 UTF-8 bytes'],
    ['/v1/keys/%FF', 'invalid UTF-8'], [`/v1/keys/${'k'.repeat(1025)}/events`, 'events of a 1025-byte key']
  ]) assertError(await call('GET', p), 400, 'bad_key', `GET ${what}`)
  assertError(await call('POST', '/v1/keys/', add), 400, 'bad_key', 'POST to an empty key')
  assertError(await call('POST', `/v1/keys/${'k'.repeat(1025)}`, add), 400, 'bad_key', 'POST to a 1025-byte key')

  // Still serving: the key is as it was, and nothing else was created.
  assert.deepEqual(await d.client.get(key), before)
  assert.deepEqual(before.value, ['apples'])
  assert.deepEqual(await d.client.keys('e2e/bad/'), [key])
  assert.equal((await d.client.status()).keys, 1)
  assert.deepEqual(sortedJson((await d.client.update(key, 'or-set', 'add', ['pears'])).value), sortedJson(['apples', 'pears']))
  assert.deepEqual(sortedJson((await d.client.get(key)).value), sortedJson(['apples', 'pears']))
  assert.equal(d.proc.exitCode, null, d.output())
})
