// Tickets and the dashboard cookie over the HTTP API of an in-process node (node/http-auth.ts):
// what each authorises, expiry, reuse, the cap, the cookie's attributes and its Origin check.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { type HttpApi, startHttpApi } from '../../node/http-api.ts'
import type { MonoidbNode } from '../../node/node.ts'
import { nodeFixtures, until } from '../helpers/node-fixtures.ts'
import { openSse } from '../helpers/sse.ts'

const TOKEN = 'test-token-http-auth-0123456789'
const bearer = { authorization: `Bearer ${TOKEN}` }
const fx = await nodeFixtures('http-auth')
let node: MonoidbNode
let api: HttpApi
/** Short tickets and a small cap, on the same node. */
let quick: HttpApi
before(async () => {
  node = await fx.start({})
  api = await startHttpApi(node, { host: '127.0.0.1', port: 0, token: TOKEN })
  quick = await startHttpApi(node, { host: '127.0.0.1', port: 0, token: TOKEN, ticketTtlMs: 300, maxTickets: 3 })
  await node.update('k', 'pn-counter', 'inc', [1])
})
after(async () => {
  await api?.close()
  await quick?.close()
  await fx.cleanup()
})

async function ticket (on = api): Promise<string> {
  const res = await fetch(`${on.url}/v1/tickets`, { method: 'POST', headers: bearer })
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('cache-control'), 'no-store')
  const body = await res.json() as { ticket: string, expiresInMs: number }
  assert.deepEqual(Object.keys(body).sort(), ['expiresInMs', 'ticket'])
  return body.ticket
}

async function code (res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code
}

test('POST /v1/tickets needs the token; a ticket opens event streams, reusably, and nothing else', async () => {
  const t = await ticket()
  const first = await fetch(`${api.url}/v1/tickets`, { method: 'POST' })
  assert.equal(first.status, 401, 'no token, no ticket')
  const byTicket = await fetch(`${api.url}/v1/tickets?ticket=${t}`, { method: 'POST' })
  assert.equal(byTicket.status, 401, 'a ticket cannot mint tickets')
  assert.match(((await byTicket.json()) as { error: { message: string } }).error.message, /only event streams/)

  for (const path of ['/v1/keys/k/events', '/v1/events', '/v1/keys/k/events']) {
    const s = await openSse(`${api.url}${path}?ticket=${t}`)
    assert.equal(s.status, 200, `${path} with a ticket (reused)`)
    await s.until('the first block', b => b.length >= 1)
    s.close()
  }
  // The journal's follow stream, with a ticket beside its own parameters (a record is there: the write to k above).
  const journal = await openSse(`${api.url}/v1/journal?follow=1&after=0&ticket=${t}`)
  assert.equal(journal.status, 200, 'the journal follow stream opens with a ticket')
  await journal.until('a journal record', b => b.length >= 1)
  journal.close()
  for (const path of ['/v1/status', '/v1/keys/k', '/v1/keys', '/v1/peers', '/v1/journal']) {
    const res = await fetch(`${api.url}${path}?ticket=${t}`)
    assert.equal(res.status, 401, `${path} is not a stream: a ticket does not open it`)
    assert.equal(await code(res), 'unauthorized')
  }
  const post = await fetch(`${api.url}/v1/keys/k?ticket=${t}`, { method: 'POST', body: '{"contract":"pn-counter","op":"inc","args":[1]}' })
  assert.equal(post.status, 401, 'no writes by ticket')
  assert.equal((await node.get('k'))?.value, 1, 'nothing written')
})

test('a bad or expired ticket gets 401 naming it; tickets are capped', async () => {
  for (const bad of ['nope', 'A'.repeat(43), '']) {
    const res = await fetch(`${api.url}/v1/keys/k/events?ticket=${bad}`)
    assert.equal(res.status, 401, JSON.stringify(bad))
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /expired or unknown/)
  }
  const t = await ticket(quick)
  const ok = await openSse(`${quick.url}/v1/keys/k/events?ticket=${t}`)
  assert.equal(ok.status, 200)
  ok.close()
  await until('the 300 ms ticket to expire', async () => (await fetch(`${quick.url}/v1/keys/k/events?ticket=${t}`)).status === 401, 5_000)
  const other = await ticket(api)
  assert.equal((await fetch(`${quick.url}/v1/keys/k/events?ticket=${other}`)).status, 401, 'a ticket is one API\'s')

  // The cap: 3 live tickets; the fourth is refused with a Retry-After, until they expire.
  await new Promise(resolve => setTimeout(resolve, 350)) // the earlier quick tickets expire
  await ticket(quick); await ticket(quick); await ticket(quick)
  const full = await fetch(`${quick.url}/v1/tickets`, { method: 'POST', headers: bearer })
  assert.equal(full.status, 503)
  assert.ok(Number(full.headers.get('retry-after')) >= 0)
  assert.equal(await code(full), 'unavailable')
  await until('room for a new ticket', async () => (await fetch(`${quick.url}/v1/tickets`, { method: 'POST', headers: bearer })).status === 200, 5_000)
})

test('the dashboard trades a ticket for an HttpOnly SameSite=Strict cookie, which authorises reads and same-origin writes only', async () => {
  const t = await ticket()
  const res = await fetch(`${api.url}/?ticket=${t}`, { redirect: 'manual' })
  assert.equal(res.status, 200)
  assert.match(await res.text(), /<meta http-equiv="refresh" content="0; url=\/">/, 'the page reloads as /: the ticket leaves the address bar')
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer')
  const setCookie = res.headers.get('set-cookie')!
  const port = new URL(api.url).port
  assert.match(setCookie, new RegExp(`^monoidb-${port}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict; Max-Age=\\d+$`))
  assert.ok(!setCookie.includes(t) && !setCookie.includes(TOKEN), 'the session is its own secret')
  const cookie = setCookie.split(';')[0]

  const page = await fetch(`${api.url}/`, { headers: { cookie } })
  assert.equal(page.status, 200)
  const csp = page.headers.get('content-security-policy')!
  assert.match(csp, /default-src 'none'/)
  assert.match(csp, /script-src 'self'/)
  assert.doesNotMatch(csp, /unsafe-inline/)
  assert.equal(page.headers.get('x-frame-options'), 'DENY')
  const html = await page.text()
  assert.match(html, /<script src="\/dashboard\.js"/)
  assert.doesNotMatch(html, /<script>/, 'no inline script')
  for (const asset of ['/dashboard.js', '/dashboard.css']) {
    const a = await fetch(`${api.url}${asset}`, { headers: { cookie } })
    assert.equal(a.status, 200, asset)
    const text = await a.text()
    assert.ok(!text.includes(TOKEN) && !text.includes(t), `${asset} holds no secret`)
  }
  const bare = await fetch(`${api.url}/`)
  assert.equal(bare.status, 401, 'no cookie, no page')
  assert.match(((await bare.json()) as { error: { message: string } }).error.message, /monoidb dashboard/, 'the 401 says how to open it')
  assert.equal((await fetch(`${api.url}/`, { headers: { cookie: `monoidb-${port}=forged` } })).status, 401, 'a forged session')
  assert.equal((await fetch(`${api.url}/`, { headers: { cookie: `monoidb-1=${cookie.split('=')[1]}` } })).status, 401, 'another port\'s cookie name')

  assert.equal((await fetch(`${api.url}/v1/status`, { headers: { cookie } })).status, 200, 'reads')
  const s = await openSse(`${api.url}/v1/events`, { cookie })
  assert.equal(s.status, 200, 'streams')
  s.close()
  const body = '{"contract":"pn-counter","op":"inc","args":[1]}'
  const noOrigin = await fetch(`${api.url}/v1/keys/k`, { method: 'POST', headers: { cookie }, body })
  assert.equal(noOrigin.status, 403, 'a cookie POST without Origin')
  const evil = await fetch(`${api.url}/v1/keys/k`, { method: 'POST', headers: { cookie, origin: 'http://evil.example' }, body })
  assert.equal(evil.status, 403, 'a cookie POST from another origin')
  assert.equal((await node.get('k'))?.value, 1, 'nothing written')
  const own = await fetch(`${api.url}/v1/keys/k`, { method: 'POST', headers: { cookie, origin: api.url }, body })
  assert.equal(own.status, 200, 'the page\'s own origin')
  const minted = await fetch(`${api.url}/v1/tickets`, { method: 'POST', headers: { cookie, origin: api.url } })
  assert.equal(minted.status, 401, 'the cookie does not mint tickets')
})
