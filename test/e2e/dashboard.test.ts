// The dashboard end to end: two real daemons, headless Chromium (test/helpers/browser.ts) on B's page,
// opened with the link `monoidb dashboard` prints. An update on A shows on B's page (value and write id);
// neither the token nor the ticket is ever in the page, its address or its requests; a bad ticket is 401.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { daemonFixtures, untilMeshed } from '../helpers/daemon-fixtures.ts'
import { withBrowser } from '../helpers/browser.ts'

const CLI = fileURLToPath(new URL('../../node/cli.ts', import.meta.url))
const fx = await daemonFixtures('dashboard')
after(async () => { await fx.cleanup() })

test('B\'s dashboard shows an update made on A, live, and never holds a secret', async () => {
  const a = await fx.start()
  const b = await fx.start({ bootstrap: a.info.multiaddrs })
  await untilMeshed([a, b])
  await a.client.update('visits', 'pn-counter', 'inc', [1])
  assert.equal((await b.client.get('visits', { wait: 10_000 })).value, 1, 'B keeps visits (it read it)')

  const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'dashboard', '--data', b.dir])
  const link = stdout.trim()
  const ticket = new URL(link).searchParams.get('ticket')!
  assert.equal(new URL(link).origin, new URL(b.info.api).origin)
  assert.ok(ticket.length >= 22, 'a ticket of at least 128 bits')
  const secrets = [a.info.token, b.info.token, ticket]

  await withBrowser('the dashboard test', async context => {
    const page = await context.newPage()
    const requested: string[] = []
    page.on('request', r => { requested.push(r.url()) })
    const consoleErrors: string[] = []
    page.on('pageerror', err => { consoleErrors.push(err.message) })

    const res = await page.goto(link)
    assert.equal(res?.status(), 200)
    await page.waitForURL(`${b.info.api}/`) // the ticket leaves the address bar
    const cookies = await context.cookies()
    assert.equal(cookies.length, 1)
    assert.equal(cookies[0].httpOnly, true)
    assert.equal(cookies[0].sameSite, 'Strict')

    // This peer, its peer, its key.
    await page.locator('#self').filter({ hasText: b.info.peerId }).waitFor()
    await page.locator(`#peers tr[data-peer="${a.info.peerId}"]`).waitFor()
    const value = page.locator('#keys tr[data-key="visits"] td:nth-child(3)')
    await value.filter({ hasText: /^1$/ }).waitFor()
    await page.locator('#conn').filter({ hasText: 'live' }).waitFor()

    // An update on A reaches B and its page, live.
    const post = await fetch(`${a.info.api}/v1/keys/visits`, { method: 'POST', headers: { authorization: `Bearer ${a.info.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ contract: 'pn-counter', op: 'inc', args: [41] }) })
    assert.equal(post.status, 200)
    const written = await post.json() as { value: number, write?: string }
    assert.equal(written.value, 42)
    await value.filter({ hasText: /^42$/ }).waitFor()
    await page.locator('#live li').filter({ hasText: '42' }).first().waitFor()
    // The write id comes with the ids work (POST's "write", the journal's "writes"): where the daemon has it, B's page must show it.
    if (written.write !== undefined) await page.locator('#keys tr[data-key="visits"]').filter({ hasText: written.write }).waitFor()

    // The search box: the key's value, and its inspect view or a clear word that this daemon cannot inspect.
    await page.fill('#search-key', 'visits')
    await page.click('#search button')
    await page.locator('#inspect').filter({ hasText: 'visits = 42' }).waitFor()
    await page.locator('#inspect').filter({ hasText: /peerId|cannot inspect/ }).waitFor()

    const html = await page.content()
    for (const s of secrets) {
      assert.ok(!html.includes(s), 'no secret in the page')
      assert.ok(!page.url().includes(s), 'no secret in the address')
    }
    assert.ok(requested.length >= 5, `the page made its requests: ${requested.join(' ')}`)
    assert.ok(requested.every(u => !u.includes(a.info.token) && !u.includes(b.info.token)), 'the token never in a URL')
    assert.deepEqual(requested.filter(u => u.includes(ticket)), [link], 'the ticket only in the link opened')
    assert.deepEqual(consoleErrors, [], 'the page script ran without errors')
    if (process.env.DASHBOARD_SCREENSHOT !== undefined) await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: true })

    // A bad ticket, without the cookie: 401, no page, no cookie. (The same context: a second one
    // would share @sparticuz/chromium's single browser process, which closing it ends.)
    await context.clearCookies()
    const bad = await (await context.newPage()).goto(`${b.info.api}/?ticket=${'A'.repeat(43)}`)
    assert.equal(bad?.status(), 401)
    assert.match(await bad!.text(), /expired or unknown/)
    assert.deepEqual(await context.cookies(), [])
  })
  for (const d of [a, b]) for (const s of secrets) assert.ok(!d.output().includes(s), 'no secret in a daemon\'s output')
})
