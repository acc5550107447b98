// The HTTP API over an in-process node on 127.0.0.1 (any free port), driven with fetch; plus one real daemon process.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { DaemonInfo } from '../../node/daemon.ts'
import { type HttpApi, MAX_BODY_BYTES, startHttpApi } from '../../node/http-api.ts'
import type { MonoidbNode } from '../../node/node.ts'
import { hasSubscribedPeer, nodeFixtures, until } from '../helpers/node-fixtures.ts'

const TOKEN = 'test-token-0123456789'
const fx = await nodeFixtures('http-api')
let node: MonoidbNode
let peer: MonoidbNode
let api: HttpApi
before(async () => {
  node = await fx.start({})
  peer = await fx.start({ bootstrap: node.multiaddrs() })
  api = await startHttpApi(node, { host: '127.0.0.1', port: 0, token: TOKEN })
})
after(async () => {
  await api?.close()
  await fx.cleanup()
})

const enc = encodeURIComponent
interface Reply { status: number, headers: Headers, body: any }

async function call (method: string, path: string, options: { json?: unknown, body?: BodyInit, token?: string | null, headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.token !== null) headers.authorization = `Bearer ${options.token ?? TOKEN}`
  const body = options.json !== undefined ? JSON.stringify(options.json) : options.body
  const init: RequestInit & { duplex?: 'half' } = { method, headers, body }
  if (body instanceof ReadableStream) init.duplex = 'half'
  const res = await fetch(api.url + path, init)
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) }
}

function assertError (r: Reply, status: number, code: string, what: string): void {
  assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`)
  assert.deepEqual(Object.keys(r.body), ['error'], what)
  assert.equal(r.body.error.code, code, what)
  assert.ok(typeof r.body.error.message === 'string' && r.body.error.message.length > 0, what)
}

test('POST commits and returns the view; GET, keys, status and peers have their documented shapes', async () => {
  assert.match(api.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  assert.notEqual(api.url, 'http://127.0.0.1:0')
  const post = await call('POST', '/v1/keys/visits', { json: { contract: 'pn-counter', op: 'inc', args: [5] } })
  assert.equal(post.status, 200)
  assert.deepEqual(post.body, { key: 'visits', contract: { id: 'pn-counter' }, value: 5, write: `${node.replica}/1` })
  assert.equal((await node.get('visits'))?.value, 5, 'committed to the node')
  assert.deepEqual((await call('POST', '/v1/keys/visits', { json: { contract: 'pn-counter', op: 'dec' } })).body.value, 4, 'args defaults to []')

  // Any UTF-8 key, URL-encoded: slashes, dots, spaces and non-ASCII survive the path.
  const odd = 'cart/../ü ?#%2F'
  assert.equal((await call('POST', `/v1/keys/${enc(odd)}`, { json: { contract: { id: 'log', params: { keepLast: 3 } }, op: 'append', args: ['x'] } })).status, 200)
  const got = await call('GET', `/v1/keys/${enc(odd)}`)
  assert.equal(got.status, 200)
  assert.deepEqual({ key: got.body.key, contract: got.body.contract }, { key: odd, contract: { id: 'log', params: { keepLast: 3 } } })
  assert.equal(got.body.value[0].value, 'x')
  assert.equal((await call('GET', `/v1/keys/${'k'.repeat(1024)}?wait=0`)).status, 404, '1024 bytes is a valid key')

  assert.deepEqual((await call('GET', '/v1/keys')).body, { keys: [odd, 'visits'] })
  assert.deepEqual((await call('GET', `/v1/keys?prefix=${enc('cart/')}`)).body, { keys: [odd] })
  assert.deepEqual((await call('GET', '/v1/keys?prefix=nope')).body, { keys: [] })

  await until('the peer to connect', () => node.peers().length === 1)
  const status = await call('GET', '/v1/status')
  assert.equal(status.status, 200)
  // The peer just connected: a session with it may be in flight (sessions: README "Catch-up progress").
  const { sessions, ...rest } = status.body as { sessions: unknown }
  assert.ok(Array.isArray(sessions))
  assert.deepEqual(rest, { peerId: node.peerId, multiaddrs: node.multiaddrs(), peers: 1, keys: 2, replicateAll: false, unknownContracts: { byId: {}, others: 0 }, unknownContractKeys: { byId: {}, others: 0 }, publicKey: null })
  const peers = await call('GET', '/v1/peers')
  assert.equal(peers.status, 200)
  assert.deepEqual(peers.body.peers.map((p: { peerId: string }) => p.peerId), [peer.peerId])
  assert.deepEqual(Object.keys(peers.body.peers[0]).sort(), ['clockSkewMs', 'connected', 'connectedSince', 'gossipScore', 'inSync', 'lastDialError', 'lastSeen', 'multiaddrs', 'peerId', 'rttMs', 'subscribed'])
  assert.equal(peers.body.peers[0].connected, true)
})

test('GET ?wait=ms: a missing key is 404 after the wait; a key that arrives during it (locally or from a peer) is returned', async () => {
  let t = Date.now()
  assertError(await call('GET', '/v1/keys/absent?wait=0'), 404, 'not_found', 'wait=0')
  t = Date.now()
  assertError(await call('GET', '/v1/keys/absent?wait=150'), 404, 'not_found', 'wait=150')
  assert.ok(Date.now() - t >= 140, `waited ${Date.now() - t} ms`)

  const waiting = call('GET', '/v1/keys/soon?wait=5000')
  await new Promise(resolve => setTimeout(resolve, 100))
  await node.update('soon', 'g-counter', 'inc', [2])
  assert.deepEqual((await waiting).body, { key: 'soon', contract: { id: 'g-counter' }, value: 2 })

  await until('the peer to subscribe', () => hasSubscribedPeer(peer, node), 10_000)
  const fromPeer = call('GET', '/v1/keys/remote?wait=10000')
  await new Promise(resolve => setTimeout(resolve, 100))
  await peer.update('remote', 'g-set', 'add', ['hi'])
  const r = await fromPeer
  assert.equal(r.status, 200, JSON.stringify(r.body))
  assert.deepEqual(r.body.value, ['hi'])

  for (const bad of ['-1', 'abc', '1.5', '30001', '']) assertError(await call('GET', `/v1/keys/absent?wait=${bad}`), 400, 'bad_wait', `wait=${bad}`)
})

test('every documented error has its status and code, and the server keeps serving after them', async () => {
  const post = async (json: unknown, key = 'e'): Promise<Reply> => await call('POST', `/v1/keys/${key}`, { json })
  assert.equal((await post({ contract: 'or-set', op: 'add', args: ['a'] })).status, 200)

  // 401: no header, another token, another scheme; on every route, known or not.
  for (const path of ['/v1/keys/e', '/v1/status', '/v1/peers', '/v1/keys', '/v1/keys/e/events', '/nope']) {
    const r = await call('GET', path, { token: null })
    assertError(r, 401, 'unauthorized', `no token ${path}`)
    assert.equal(r.headers.get('www-authenticate'), 'Bearer')
  }
  assertError(await call('GET', '/v1/keys/e', { token: TOKEN + 'x' }), 401, 'unauthorized', 'wrong token')
  assertError(await call('GET', '/v1/keys/e', { token: 'x' }), 401, 'unauthorized', 'short token')
  assertError(await call('GET', '/v1/keys/e', { token: null, headers: { authorization: `Basic ${TOKEN}` } }), 401, 'unauthorized', 'Basic scheme')
  assertError(await call('POST', '/v1/keys/e', { token: null, json: { contract: 'or-set', op: 'add', args: ['z'] } }), 401, 'unauthorized', 'POST without token')

  // 400 on POST bodies.
  assertError(await call('POST', '/v1/keys/e', { body: '{"contract": "or-set",' }), 400, 'bad_json', 'truncated JSON')
  assertError(await call('POST', '/v1/keys/e', { body: '' }), 400, 'bad_json', 'empty body')
  assertError(await call('POST', '/v1/keys/e', { body: new Uint8Array([0x22, 0xff, 0x22]) }), 400, 'bad_json', 'not UTF-8')
  assertError(await post([1, 2]), 400, 'bad_request', 'an array body')
  assertError(await post({ contract: 'or-set', op: 'add', arg: ['a'] }), 400, 'bad_request', 'unknown field')
  assertError(await post({ op: 'add', args: ['a'] }), 400, 'bad_request', 'no contract')
  assertError(await post({ contract: 'or-set', args: ['a'] }), 400, 'bad_request', 'no op')
  assertError(await post({ contract: 'no-such', op: 'add', args: ['a'] }, 'fresh'), 400, 'unknown_contract', 'unknown contract')
  assertError(await post({ contract: 'or-set', op: 'frobnicate', args: [] }), 400, 'unknown_op', 'unknown op')
  assertError(await post({ contract: 'pn-counter', op: 'inc', args: ['five'] }, 'fresh'), 400, 'bad_args', 'wrong arg type')
  assertError(await post({ contract: 'pn-counter', op: 'inc', args: 5 }, 'fresh'), 400, 'bad_args', 'args not an array')
  assertError(await post({ contract: 'g-counter', op: 'inc', args: [1] }), 409, 'contract_mismatch', 'bound to or-set')
  assert.deepEqual(await node.keys('fresh'), [], 'nothing written by refused requests')

  // Oversized: refused by Content-Length, and while reading a body sent without one.
  const big = JSON.stringify({ contract: 'g-set', op: 'add', args: ['x'.repeat(MAX_BODY_BYTES)] })
  assertError(await call('POST', '/v1/keys/big', { body: big }), 400, 'body_too_large', 'by Content-Length')
  // Sent without a length, many times: the client must read the 400 each time, not lose it to a cut upload (EPIPE).
  const chunk = new Uint8Array(64 * 1024).fill(0x20)
  for (let i = 0; i < 20; i++) {
    let sent = 0
    const stream = new ReadableStream<Uint8Array>({
      pull (c) { if (sent > 2 * MAX_BODY_BYTES) c.close(); else { sent += chunk.length; c.enqueue(chunk) } }
    })
    assertError(await call('POST', '/v1/keys/big', { body: stream }), 400, 'body_too_large', `chunked, try ${i}`)
  }
  assert.deepEqual(await node.keys('big'), [])

  // Bad keys: empty, over 1024 bytes of UTF-8, bad percent-encoding, a lone surrogate, a bad prefix.
  for (const [path, what] of [
    ['/v1/keys/', 'empty'], [`/v1/keys/${'k'.repeat(1025)}`, 'too long'], [`/v1/keys/${enc('é'.repeat(513))}`, '1026 UTF-8 bytes'],
    ['/v1/keys/%FF', 'invalid UTF-8'], ['/v1/keys/a%2', 'truncated escape'], ['/v1/keys/%ED%A0%80', 'lone surrogate'],
    ['/v1/keys/%FF/events', 'events of a bad key'], [`/v1/keys?prefix=${'p'.repeat(1025)}`, 'prefix too long']
  ]) assertError(await call('GET', path), 400, 'bad_key', what)
  assertError(await call('POST', '/v1/keys/', { json: { contract: 'or-set', op: 'add', args: ['a'] } }), 400, 'bad_key', 'POST to an empty key')

  // Routes and methods.
  for (const path of ['/v2/keys/e', '/v1', '/v1/keys/e/other', '/v1/keys/e/events/x', '/v1/statuses']) assertError(await call('GET', path), 404, 'unknown_route', path)
  for (const [method, path, allowed] of [['DELETE', '/v1/keys/e', 'GET, POST'], ['PUT', '/v1/keys/e', 'GET, POST'], ['POST', '/v1/status', 'GET'], ['POST', '/v1/keys', 'GET'], ['POST', '/v1/keys/e/events', 'GET'], ['DELETE', '/v1/peers', 'GET, POST'], ['GET', '/v1/peers/x', 'DELETE']]) {
    const r = await call(method, path)
    assertError(r, 405, 'method_not_allowed', `${method} ${path}`)
    assert.equal(r.headers.get('allow'), allowed)
  }

  // Still serving, the same connection pool and all.
  assert.deepEqual((await call('GET', '/v1/keys/e')).body, { key: 'e', contract: { id: 'or-set' }, value: ['a'] })
  assert.equal((await post({ contract: 'or-set', op: 'add', args: ['b'] })).status, 200)
})

/** Reads server-sent events from a fetch response: each `data:` line parsed as JSON. */
function events (res: Response): () => Promise<any> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buffered = ''
  return async () => {
    for (;;) {
      const end = buffered.indexOf('\n\n')
      if (end >= 0) {
        const block = buffered.slice(0, end)
        buffered = buffered.slice(end + 2)
        const data = block.split('\n').filter(l => l.startsWith('data: ')).map(l => l.slice(6))
        if (data.length > 0) return JSON.parse(data.join('\n'))
        continue // a comment (keep-alive)
      }
      const { value, done } = await reader.read()
      if (done) throw new Error('event stream ended')
      buffered += value
    }
  }
}

test('events: the current value first, then one event per change with its origin; a disconnect ends the subscription', async () => {
  await node.update('watched', 'or-set', 'add', ['a'])
  const abort = new AbortController()
  const res = await fetch(`${api.url}/v1/keys/watched/events`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: abort.signal })
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/)
  const next = events(res)
  assert.deepEqual(await next(), { key: 'watched', contract: { id: 'or-set' }, value: ['a'] })
  const posted = await call('POST', '/v1/keys/watched', { json: { contract: 'or-set', op: 'add', args: ['b'] } })
  assert.equal(posted.status, 200)
  assert.deepEqual(await next(), { key: 'watched', contract: { id: 'or-set' }, value: ['a', 'b'], origin: 'local', write: `${node.replica}/2` })
  const written = await peer.update('watched', 'or-set', 'add', ['c']) // arrives by push from the peer
  let e = await next()
  while (e.value.length < 3) e = await next()
  // The push carries the writer's id (a 'writes' push, PROTOCOL.md §3.1): the event names it, unless a
  // session brought the change first (on a loaded machine), which names none: the journal says which.
  await until('the journal to record the change', () => node.journal.query({ key: 'watched', peer: peer.peerId }).some(r => r.kind === 'merged' && r.changed))
  const by = node.journal.query({ key: 'watched', peer: peer.peerId }).find(r => r.kind === 'merged' && r.changed)!
  assert.deepEqual(e, { key: 'watched', contract: { id: 'or-set' }, value: ['a', 'b', 'c'], origin: peer.peerId, writes: by.kind === 'merged' && by.path === 'push' ? [written.write] : [] })

  assert.equal(api.openStreams, 1)
  abort.abort()
  await until('the stream to end on disconnect', () => api.openStreams === 0)

  // A key not held yet: the first event says so, the first write follows.
  const abort2 = new AbortController()
  const res2 = await fetch(`${api.url}/v1/keys/later/events`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: abort2.signal })
  const next2 = events(res2)
  assert.deepEqual(await next2(), { key: 'later', contract: null, value: null })
  await call('POST', '/v1/keys/later', { json: { contract: 'lww-register', op: 'set', args: [{ n: 1 }] } })
  assert.deepEqual(await next2(), { key: 'later', contract: { id: 'lww-register' }, value: { n: 1 }, origin: 'local', write: `${node.replica}/1` })
  abort2.abort()
  await until('the second stream to end', () => api.openStreams === 0)
})

test('a real daemon with --api 127.0.0.1:0 serves the API at the URL in daemon.json', { timeout: 30_000 }, async () => {
  const data = fx.folder()
  const daemon = fileURLToPath(new URL('../../node/daemon.ts', import.meta.url))
  const child = spawn(process.execPath, [daemon, '--data', data, '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  try {
    let out = ''; let err = ''
    child.stdout.on('data', b => { out += String(b) })
    child.stderr.on('data', b => { err += String(b) })
    await until('the ready line', () => out.includes('monoidb daemon ready') || child.exitCode !== null, 15_000)
    const info = JSON.parse(await readFile(join(data, 'daemon.json'), 'utf8')) as DaemonInfo
    assert.match(info.api, /^http:\/\/127\.0\.0\.1:[1-9]\d*$/, err)
    assert.ok(out.includes(`API ${info.api}`), out)
    const auth = { authorization: `Bearer ${info.token}` }
    const posted = await fetch(`${info.api}/v1/keys/${enc('daemon key')}`, { method: 'POST', headers: auth, body: JSON.stringify({ contract: 'pn-counter', op: 'inc', args: [7] }) })
    const body = await posted.json() as { write?: string }
    assert.match(body.write ?? '', /^[0-9a-f]{24}\/1$/, 'the write id, REPLICA/SEQ')
    assert.deepEqual(body, { key: 'daemon key', contract: { id: 'pn-counter' }, value: 7, write: body.write })
    const got = await fetch(`${info.api}/v1/keys/${enc('daemon key')}`, { headers: auth })
    assert.deepEqual(await got.json(), { key: 'daemon key', contract: { id: 'pn-counter' }, value: 7 })
    assert.equal((await fetch(`${info.api}/v1/status`)).status, 401)
    child.kill('SIGTERM')
    assert.equal(await exited, 0, err)
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
})
