// Headless Chromium for browser tests, brought through npm: @sparticuz/chromium ships the binary,
// playwright-core drives it. `withBrowser` always closes the browser and bounds the whole run in time.
import chromium from '@sparticuz/chromium'
import { type Browser, type BrowserContext, chromium as playwright } from 'playwright-core'

/** A browser run (launch, the test's steps, close) that takes longer than this fails rather than hangs. */
export const BROWSER_RUN_MS = 90_000

export async function launchBrowser (): Promise<Browser> {
  return await playwright.launch({ executablePath: await chromium.executablePath(), args: chromium.args, headless: true, timeout: 30_000 })
}

/**
 * Runs `fn` with a fresh browser context (its own cookies) and closes the browser afterwards, whatever
 * happens; fails naming `what` if the run takes more than `ms`.
 */
export async function withBrowser<T> (what: string, fn: (context: BrowserContext) => Promise<T>, ms = BROWSER_RUN_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`timed out after ${ms} ms: ${what}`)) }, ms)
  })
  const launched = launchBrowser()
  try {
    return await Promise.race([(async () => {
      const context = await (await launched).newContext()
      context.setDefaultTimeout(Math.min(20_000, ms))
      return await fn(context)
    })(), timeout])
  } finally {
    clearTimeout(timer)
    // Closed however the run ended; a launch still under way when the timeout hit is closed once it finishes.
    await launched.then(async b => { await b.close() }, () => {})
  }
}
