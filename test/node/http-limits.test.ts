// The HTTP API's connection limits (issue 9.5) over an in-process node: header, request and keep-alive
// timeouts close what strangers leave open; the connection cap closes the oldest connection not serving
// a request; event streams outlive every timeout and the cap, and are capped themselves.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { type Socket, connect } from 'node:net'
import { defaultMaxConnections, processFdLimit } from '../../node/connection-cap.ts'
import { type HttpApi, type HttpApiOptions, startHttpApi } from '../../node/http-api.ts'
import type { MonoidbNode } from '../../node/node.ts'
import { nodeFixtures, until } from '../helpers/node-fixtures.ts'

const TOKEN = 'test-token-limits'
const SHORT = { headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 300 }
const fx = await nodeFixtures('http-limits')
let node: MonoidbNode
const apis: HttpApi[] = []
const sockets: Socket[] = []
before(async () => { node = await fx.start({}) })
after(async () => {
  for (const s of sockets) s.destroy()
  await Promise.all(apis.map(async a => { await a.close() }))
  await fx.cleanup()
})

async function api (options: Partial<HttpApiOptions> = {}): Promise<HttpApi> {
  const a = await startHttpApi(node, { host: '127.0.0.1', port: 0, token: TOKEN, ...options })
  apis.push(a)
  return a
}

interface Raw { socket: Socket, received: () => string, closed: () => boolean, closedAfterMs: Promise<number> }

/** A raw TCP connection to the API (connected when this resolves), sending `send` if given. */
async function raw (a: HttpApi, send?: string): Promise<Raw> {
  const url = new URL(a.url)
  const start = performance.now()
  const socket = connect({ host: url.hostname, port: Number(url.port) })
  sockets.push(socket)
  let data = ''
  let closed = false
  socket.on('data', b => { data += String(b) })
  socket.on('error', () => {})
  const closedAfterMs = new Promise<number>(resolve => { socket.once('close', () => { closed = true; resolve(performance.now() - start) }) })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve).once('error', reject) })
  if (send !== undefined) socket.write(send)
  return { socket, received: () => data, closed: () => closed, closedAfterMs }
}

/** Lets the server see connections opened by the client (accept and the 'connection' event come a tick later). */
async function settle (a: HttpApi, open: number): Promise<void> {
  await until(`the API to hold ${open} connections (holds ${a.connections().open})`, () => a.connections().open === open)
}

function get (a: HttpApi, path: string, signal?: AbortSignal): Promise<Response> {
  return fetch(a.url + path, { headers: { authorization: `Bearer ${TOKEN}` }, signal })
}

test('a connection that sends nothing, or stops mid-headers, is closed after headersTimeoutMs', async () => {
  const a = await api(SHORT)
  const silent = await raw(a)
  const partial = await raw(a, 'GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ')
  const [silentMs, partialMs] = await Promise.all([silent.closedAfterMs, partial.closedAfterMs])
  for (const [what, ms] of [['silent', silentMs], ['partial', partialMs]] as const) {
    assert.ok(ms >= SHORT.headersTimeoutMs - 20, `${what} closed after ${ms.toFixed(0)} ms, not before the headers timeout`)
    assert.ok(ms < SHORT.headersTimeoutMs + 3_000, `${what} closed after ${ms.toFixed(0)} ms, soon after the headers timeout`)
  }
  assert.match(partial.received(), /^HTTP\/1\.1 408 /, 'a cut-off request is told 408 Request Timeout')
  await settle(a, 0)
})

test('a request whose body does not arrive whole within requestTimeoutMs is closed, and changes nothing', async () => {
  const a = await api(SHORT)
  const head = `POST /v1/keys/slow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`
  const slow = await raw(a, head + '{"contract":')
  const ms = await slow.closedAfterMs
  assert.ok(ms >= SHORT.requestTimeoutMs - 20 && ms < SHORT.requestTimeoutMs + 3_000, `closed after ${ms.toFixed(0)} ms`)
  assert.equal(await node.get('slow'), undefined)
})

test('an idle keep-alive connection is closed after keepAliveTimeoutMs; one in use is not', async () => {
  const a = await api(SHORT)
  const request = `GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`
  const c = await raw(a, request)
  // Two more requests on it, each within the keep-alive timeout: it stays open across them.
  for (let i = 2; i <= 3; i++) {
    await until(`answer ${i - 1}`, () => c.received().split('HTTP/1.1 200 OK').length - 1 === i - 1)
    await new Promise(resolve => setTimeout(resolve, SHORT.keepAliveTimeoutMs / 2))
    assert.equal(c.closed(), false, `open ${SHORT.keepAliveTimeoutMs / 2} ms after answer ${i - 1}`)
    c.socket.write(request)
  }
  await until('answer 3', () => c.received().split('HTTP/1.1 200 OK').length - 1 === 3)
  const answered = performance.now()
  await c.closedAfterMs
  const idle = performance.now() - answered
  assert.ok(idle >= SHORT.keepAliveTimeoutMs - 50 && idle < SHORT.keepAliveTimeoutMs + 3_000, `closed ${idle.toFixed(0)} ms after its last answer`)
})

test('at the cap the oldest connection not serving a request is closed, so an authorised request still gets in', async () => {
  const a = await api({ maxConnections: 10 })
  const first = await raw(a, `GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
  await until('the first answer', () => first.received().includes('200 OK'))
  const half: Raw[] = []
  for (let i = 0; i < 9; i++) { half.push(await raw(a, i % 2 === 0 ? undefined : 'GET /v1/st')); await settle(a, i + 2) }
  // Full: `first` is idle keep-alive, at the back of the line since its answer but older than all nine.
  const late: Raw[] = []
  for (let i = 0; i < 3; i++) late.push(await raw(a))
  await until('three to be closed', () => a.connections().shed === 3)
  await until('their sockets to see it', () => first.closed() && half[0].closed() && half[1].closed())
  assert.deepEqual(half.map(r => r.closed()), [true, true, false, false, false, false, false, false, false], 'the oldest went first')
  assert.deepEqual(late.map(r => r.closed()), [false, false, false], 'the newest stay')

  const t0 = performance.now()
  const res = await get(a, '/v1/status')
  assert.equal(res.status, 200)
  assert.equal((await res.json()).peerId, node.peerId)
  const ms = performance.now() - t0
  assert.ok(ms < 1_000, `answered in ${ms.toFixed(0)} ms`)
  assert.equal(a.connections().open, 10)
  assert.equal(a.connections().refused, 0)
})

test('event streams outlive every timeout and the cap; when every connection serves a request a new one is refused', async () => {
  const a = await api({ ...SHORT, maxConnections: 8, maxEventStreams: 3, heartbeatMs: 200 })
  const stop = new AbortController()
  const streams: Array<{ text: () => string }> = []
  for (let i = 0; i < 3; i++) {
    const res = await get(a, `/v1/keys/watched${i}/events`, stop.signal)
    assert.equal(res.status, 200)
    let text = ''
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    void (async () => { try { for (;;) { const r = await reader.read(); if (r.done) break; text += r.value } } catch {} })()
    streams.push({ text: () => text })
  }
  await until('the first events', () => streams.every(s => s.text().includes('"value":null')))
  const fourth = await get(a, '/v1/keys/watched3/events')
  assert.equal(fourth.status, 503, 'past maxEventStreams')
  assert.equal((await fourth.json()).error.code, 'unavailable')

  // Past the request, headers and keep-alive timeouts (2.5× the longest), and past the cap many times over.
  await new Promise(resolve => setTimeout(resolve, SHORT.requestTimeoutMs * 2.5))
  const strangers: Raw[] = []
  for (let i = 0; i < 20; i++) strangers.push(await raw(a))
  await until('strangers to be shed at the cap', () => a.connections().shed > 0)
  for (let i = 0; i < 3; i++) await node.update(`watched${i}`, 'g-counter', 'inc', [i + 1])
  await until('each stream to carry its change', () => streams.every((s, i) => s.text().includes(`"value":${i + 1}`)))
  assert.ok(streams.every(s => s.text().includes(': keep-alive')), 'heartbeats flowed')
  assert.equal(a.openStreams, 3)

  // Fill the rest with long polls (serving a request: not closable); then a new connection is refused.
  for (const s of strangers) s.socket.destroy()
  await settle(a, 3) // the streams (fetch's pooled connection of the 503 timed out idle)
  const polls = Array.from({ length: 5 }, async (_, i) => await get(a, `/v1/keys/absent${i}?wait=30000`, stop.signal).catch(() => undefined))
  await until('the polls to be served', () => a.connections().open === 8 && a.connections().waiting === 0, 5_000)
  const refused = await raw(a)
  await refused.closedAfterMs
  assert.equal(a.connections().refused, 1)
  assert.equal(a.connections().open, 8, 'nothing serving a request was closed')
  stop.abort()
  await Promise.all(polls)
})

test('limits: defaults, the default cap from the descriptor limit, and bad values refused by name', async () => {
  const a = await api()
  assert.deepEqual(a.limits, { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, maxConnections: defaultMaxConnections(), maxEventStreams: Math.floor(defaultMaxConnections() / 2), maxHeaderBytes: 16_384 })
  assert.deepEqual([100, 1_024, 2_048, 4_096, 20_000, Infinity].map(n => defaultMaxConnections(n)), [64, 256, 512, 1_024, 1_024, 1_024])
  const proc = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
  assert.equal(processFdLimit(), Number(proc![1]), 'read from /proc/self/limits')

  const bad = async (options: Partial<HttpApiOptions>, message: RegExp): Promise<void> => {
    await assert.rejects(startHttpApi(node, { host: '127.0.0.1', port: 0, token: TOKEN, ...options }), message)
  }
  await bad({ headersTimeoutMs: 5_000, requestTimeoutMs: 1_000 }, /headersTimeoutMs \(5000\) must not be over requestTimeoutMs \(1000\)/)
  await bad({ maxConnections: 0 }, /maxConnections must be a whole number ≥ 1, got 0/)
  await bad({ maxConnections: 10, maxEventStreams: 10 }, /maxEventStreams \(10\) must be under maxConnections \(10\)/)
  await bad({ keepAliveTimeoutMs: 0.5 }, /keepAliveTimeoutMs must be a whole number ≥ 1, got 0.5/)
  // A shorter request timeout alone pulls the headers timeout down with it.
  assert.equal((await api({ requestTimeoutMs: 2_000 })).limits.headersTimeoutMs, 2_000)
})

test('request headers over maxHeaderBytes get 431 and change nothing; under it they are served', async () => {
  const a = await api({ maxHeaderBytes: 2_048 })
  const head = (filler: number): string => `POST /v1/keys/big-header HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nX-Filler: ${'a'.repeat(filler)}\r\nContent-Length: 47\r\nConnection: close\r\n\r\n{"contract":"g-counter","op":"inc","args":[1]}\n`
  const big = await raw(a, head(3_000))
  await big.closedAfterMs
  assert.match(big.received(), /^HTTP\/1\.1 431 /)
  assert.equal(await node.get('big-header'), undefined)
  const fits = await raw(a, head(1_000))
  await fits.closedAfterMs
  assert.match(fits.received(), /^HTTP\/1\.1 200 /)
  assert.equal((await node.get('big-header'))?.value, 1)
})
