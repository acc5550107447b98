// The dashboard page in headless Chromium against an in-process node's API (short tickets): an expired
// ticket gets 401 and no cookie; a link followed from another site still lands on a working page
// (the SameSite=Strict cookie must reach it); a stale cookie after the ticket is spent is refused.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type HttpApi, startHttpApi } from '../../node/http-api.ts'
import type { MonoidbNode } from '../../node/node.ts'
import { nodeFixtures } from '../helpers/node-fixtures.ts'
import { withBrowser } from '../helpers/browser.ts'

const TOKEN = 'test-token-dashboard-page'
const fx = await nodeFixtures('dashboard-page')
let node: MonoidbNode
let api: HttpApi
/** Another site (localhost, not 127.0.0.1) whose page links to the dashboard. */
let elsewhere: Server
let link = ''
before(async () => {
  node = await fx.start({})
  api = await startHttpApi(node, { host: '127.0.0.1', port: 0, token: TOKEN, ticketTtlMs: 1_500 })
  await node.update('cart', 'or-set', 'add', ['apples'])
  elsewhere = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end(`<!doctype html><a id="go" href="${link}">dashboard</a>`)
  })
  await new Promise<void>(resolve => { elsewhere.listen(0, '127.0.0.1', resolve) })
})
after(async () => {
  elsewhere?.close()
  await api?.close()
  await fx.cleanup()
})

async function ticket (): Promise<string> {
  const res = await fetch(`${api.url}/v1/tickets`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })
  return ((await res.json()) as { ticket: string }).ticket
}

test('a link followed from another site opens a working dashboard; an expired ticket is 401', async () => {
  await withBrowser('the dashboard page test', async context => {
    const page = await context.newPage()
    link = `${api.url}/?ticket=${await ticket()}`
    await page.goto(`http://localhost:${(elsewhere.address() as AddressInfo).port}/`)
    await page.click('#go')
    await page.waitForURL(`${api.url}/`)
    await page.locator('#self').filter({ hasText: node.peerId }).waitFor()
    await page.locator('#keys tr[data-key="cart"] td:nth-child(3)').filter({ hasText: '["apples"]' }).waitFor()
    await page.locator('#conn').filter({ hasText: 'live' }).waitFor()
    await node.update('cart', 'or-set', 'add', ['pears'])
    await page.locator('#keys tr[data-key="cart"] td:nth-child(3)').filter({ hasText: /^\[("apples","pears"|"pears","apples")\]$/ }).waitFor()

    await context.clearCookies()
    const spent = await ticket()
    await new Promise(resolve => setTimeout(resolve, 1_700)) // past its 1.5 s
    const expired = await page.goto(`${api.url}/?ticket=${spent}`)
    assert.equal(expired?.status(), 401)
    assert.match(await expired!.text(), /expired or unknown/)
    assert.deepEqual(await context.cookies(), [], 'no session for an expired ticket')
    const bare = await page.goto(`${api.url}/`)
    assert.equal(bare?.status(), 401, 'no cookie, no page')
  })
})

test('the page inspects no key on its own (each inspection asks the whole network); a click inspects that key once', async () => {
  await withBrowser('the dashboard inspect test', async context => {
    const page = await context.newPage()
    const inspections: string[] = []
    page.on('request', r => { if (new URL(r.url()).pathname.endsWith('/inspect')) inspections.push(r.url()) })
    await page.goto(`${api.url}/?ticket=${await ticket()}`)
    await page.waitForURL(`${api.url}/`)
    const row = page.locator('#keys tr[data-key="cart"]')
    await row.locator('td:nth-child(3)').filter({ hasText: 'apples' }).waitFor()
    // The page used to inspect its first 20 keys as soon as they loaded, and again every 30 s.
    await new Promise(resolve => setTimeout(resolve, 1_500))
    assert.deepEqual(inspections, [], 'no inspection before one is asked for')
    await row.locator('td:nth-child(6)').filter({ hasText: 'click to inspect' }).waitFor()
    await row.locator('td:nth-child(1)').click()
    await row.locator('td:nth-child(6)').filter({ hasText: 'no peers' }).waitFor()
    await page.locator('#inspect').filter({ hasText: 'peerId' }).waitFor()
    assert.equal(inspections.length, 1, inspections.join(' '))
    assert.match(inspections[0], /\/v1\/keys\/cart\/inspect\?timeout=/)
  })
})
