/**
 * `monoidb dashboard [--open]`: asks the daemon for a ticket (POST /v1/tickets) and prints the dashboard's
 * link with it; `--open` also hands the link to the system's browser opener. The token never goes in it.
 */
import { spawn } from 'node:child_process'
import type { MonoidbClient } from './client.ts'

export async function runDashboard (client: MonoidbClient, open: boolean): Promise<void> {
  const { ticket } = await client.ticket()
  const url = `${client.url}/?ticket=${encodeURIComponent(ticket)}`
  console.log(url)
  if (open) await openInBrowser(url)
}

/** xdg-open, open or start, detached; a machine without one gets a note on stderr (the link is printed anyway). */
async function openInBrowser (url: string): Promise<void> {
  const [cmd, args] = process.platform === 'darwin'
    ? ['open', [url]]
    : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]]
  await new Promise<void>(resolve => {
    const child = spawn(cmd, args, { detached: true, stdio: 'ignore' })
    child.once('error', err => {
      console.error(`monoidb: cannot open a browser (${cmd}: ${err.message}); open the link above`)
      resolve()
    })
    child.once('spawn', () => { child.unref(); resolve() })
  })
}
