/**
 * Real monoidb daemons on 127.0.0.1 for bench:net, and the HTTP they are
 * driven by: keep-alive POSTs (node:http, not fetch, to keep the client
 * cheap) and SSE watches that report every value a daemon commits for a key.
 * The daemons form a full mesh: daemon k bootstraps to daemons 0..k-1.
 */
import { type IncomingMessage, Agent, request } from 'node:http'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { DaemonInfo } from '../../node/daemon.ts'
import { type Child, nowMs, spawnChild, stopChild, tempFolder, until } from './net-procs.ts'

const DAEMON = fileURLToPath(new URL('../../node/daemon.ts', import.meta.url))

export interface Daemon {
  index: number
  child: Child
  info: DaemonInfo
  agent: Agent
}

/** Starts `n` daemons one after another, each bootstrapping to all before it; resolves once all are connected. */
export async function startDaemons (n: number, options: { nodeArgs?: string[] } = {}): Promise<Daemon[]> {
  const root = await tempFolder('daemons')
  const daemons: Daemon[] = []
  for (let i = 0; i < n; i++) {
    const dir = join(root, `d${i}`)
    const bootstrap = daemons.flatMap(d => ['--bootstrap', d.info.multiaddrs[0]])
    const args = ['--data', dir, '--api', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0', ...bootstrap]
    const child = spawnChild(DAEMON, args, { nodeArgs: options.nodeArgs })
    await until(`daemon ${i} to be ready`, () => child.output().includes('ready') || child.proc.exitCode !== null, 30_000)
    if (child.proc.exitCode !== null) throw new Error(`daemon ${i} exited ${child.proc.exitCode}: ${child.output()}`)
    const info = JSON.parse(await readFile(join(dir, 'daemon.json'), 'utf8')) as DaemonInfo
    daemons.push({ index: i, child, info, agent: new Agent({ keepAlive: true, maxSockets: 256 }) })
  }
  await until('every daemon to see the others subscribed to the sync topics', async () => {
    const peers = await Promise.all(daemons.map(async d => (await call(d, 'GET', '/v1/peers')).json.peers as Array<{ subscribed: boolean }>))
    return peers.every(ps => ps.filter(p => p.subscribed).length === n - 1)
  }, 15_000)
  return daemons
}

export async function stopDaemons (daemons: readonly Daemon[]): Promise<void> {
  for (const d of daemons) d.agent.destroy()
  await Promise.all(daemons.map(async d => { await stopChild(d.child) }))
}

/** One HTTP request to a daemon's API; resolves with the status and the parsed JSON body. */
export async function call (d: Daemon, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number, json: any }> {
  const url = new URL(d.info.api)
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return await new Promise((resolve, reject) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      method,
      path,
      agent: d.agent,
      headers: {
        authorization: `Bearer ${d.info.token}`,
        ...payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
      }
    }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.once('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        try { resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }) } catch { resolve({ status: res.statusCode ?? 0, json: text }) }
      })
      res.once('error', reject)
    })
    req.once('error', reject)
    req.end(payload)
  })
}

export const keyPath = (key: string): string => `/v1/keys/${encodeURIComponent(key)}`

/** Increments a g-counter key by one; resolves with the value the writer committed. */
export async function increment (d: Daemon, key: string): Promise<number> {
  const r = await call(d, 'POST', keyPath(key), { contract: 'g-counter', op: 'inc', args: [1] })
  if (r.status !== 200) throw new Error(`POST ${key} to daemon ${d.index}: HTTP ${r.status} ${JSON.stringify(r.json)}`)
  return r.json.value as number
}

/** An open SSE watch of one key. `value` is the latest value seen (0 before the key exists); `onValue` runs on each event. */
export interface Watch {
  value: number
  ready: Promise<void>
  close: () => void
}

export function watch (d: Daemon, key: string, onValue: (value: number, atMs: number) => void): Watch {
  const url = new URL(d.info.api)
  let markReady: () => void = () => {}
  let fail: (err: Error) => void = () => {}
  const w: Watch = {
    value: 0,
    ready: new Promise<void>((resolve, reject) => { markReady = resolve; fail = reject }),
    close: () => { req.destroy() }
  }
  // Its own connection (agent: false): a watch holds its socket for as long as it lasts.
  const req = request({
    host: url.hostname, port: url.port, path: keyPath(key) + '/events', agent: false,
    headers: { authorization: `Bearer ${d.info.token}`, accept: 'text/event-stream' }
  }, (res: IncomingMessage) => {
    if (res.statusCode !== 200) { fail(new Error(`watch ${key} on daemon ${d.index}: HTTP ${res.statusCode}`)); res.resume(); return }
    let buffer = ''
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      const at = nowMs()
      buffer += chunk
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        if (!block.startsWith('data:')) continue // keep-alive comment
        const event = JSON.parse(block.slice(5)) as { value: number | null }
        const value = event.value ?? 0
        if (value > w.value) { w.value = value; onValue(value, at) }
        markReady() // the first event: the subscription is in place
      }
    })
    res.on('error', () => {})
  })
  req.on('error', err => { fail(err) })
  req.end()
  return w
}
