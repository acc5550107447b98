/**
 * `monoidb status --watch`: the daemon's status redrawn in place on a terminal every little while, with a
 * progress bar per running session (a catch-up among them); elsewhere (a pipe, a file) one block per
 * change. A hand-written bar: twenty lines do not earn a package.
 */
import type { MonoidbClient, NodeStatus } from './client.ts'
import type { SessionProgress } from '../core/sync/session-progress.ts'

export const BAR_WIDTH = 30
export const WATCH_INTERVAL_MS = 500

/**
 * How far a session has got, 0 to 1. By keys: those exchanged of those known to differ. A pull learns
 * how much is coming only from the requests the peer announced, so when requests are still due, the
 * smaller of the two fractions (keys, requests) is shown.
 */
export function sessionFraction (s: SessionProgress): number {
  const exchanged = Math.max(s.keysReceived, s.keysSent)
  let f = s.keysDiffering > 0 ? Math.min(1, exchanged / s.keysDiffering) : 0
  if (s.requestsDue > 0) f = Math.min(f, s.requestsIn / (s.requestsIn + s.requestsDue))
  return f
}

export function bar (fraction: number, width = BAR_WIDTH): string {
  const full = Math.round(Math.max(0, Math.min(1, fraction)) * width)
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`
}

function bytes (n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

function shortPeer (id: string): string {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id
}

/** The status as the lines `--watch` draws. */
export function renderStatus (s: NodeStatus, now = Date.now()): string[] {
  const lines = [`peer ${s.peerId}  ${s.peers} peer${s.peers === 1 ? '' : 's'} connected  ${s.keys} keys`]
  const sessions = s.sessions ?? []
  if (sessions.length === 0) lines.push('no session running')
  for (const p of sessions) {
    const what = p.pull ? 'catch-up from' : p.role === 'initiator' ? 'session with' : 'session from'
    const f = sessionFraction(p)
    const secs = Math.max(0, (now - p.startedAt) / 1000).toFixed(1)
    lines.push(`${what} ${shortPeer(p.peer)} ${bar(f)} ${String(Math.round(f * 100)).padStart(3)}%  ` +
      `${p.keysReceived} received, ${p.keysSent} sent of ${p.keysDiffering} keys known to differ  ` +
      `${bytes(p.bytesIn)} in, ${bytes(p.bytesOut)} out  ${secs} s`)
  }
  return lines
}

export interface WatchOptions {
  out?: NodeJS.WritableStream & { isTTY?: boolean }
  intervalMs?: number
  signal?: AbortSignal
}

/** Polls status until the signal aborts: redraws in place on a terminal, else prints each changed block. */
export async function watchStatus (client: MonoidbClient, options: WatchOptions = {}): Promise<void> {
  const out = options.out ?? process.stdout
  const tty = out.isTTY === true
  const interval = options.intervalMs ?? WATCH_INTERVAL_MS
  let drawn = 0
  let last = ''
  while (options.signal?.aborted !== true) {
    const lines = renderStatus(await client.status())
    if (tty) {
      // Up over what we drew last, clear to the end of the screen, draw again.
      out.write(`${drawn > 0 ? `\x1b[${drawn}A` : ''}\x1b[J${lines.join('\n')}\n`)
      drawn = lines.length
    } else {
      // Elapsed seconds change every time: compare without them.
      const text = lines.join('\n')
      const key = text.replace(/ {2}[\d.]+ s$/gm, '')
      if (key !== last) out.write(`${text}\n\n`)
      last = key
    }
    await new Promise<void>(resolve => {
      const t = setTimeout(done, interval)
      function done (): void { clearTimeout(t); options.signal?.removeEventListener('abort', done); resolve() }
      options.signal?.addEventListener('abort', done, { once: true })
    })
  }
}
