/**
 * A listen address given with port 0 takes the port the last run bound for it, when that port is free,
 * so that peers which knew this one find it where it was. The ports are kept in DIR/listen-ports.json,
 * by listen address as given: {"/ip4/127.0.0.1/tcp/0": 41234}. A port taken by something else is not
 * fought over: the address binds a new port (port 0) and the log says so. Checking that a port is free
 * and binding it are two steps: a program taking the port in between makes the start fail (it names
 * the address), as any bind can.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from './logger.ts'

export const LISTEN_PORTS_FILE = 'listen-ports.json'

type Ports = Record<string, number>

/** The listen addresses to bind: each TCP one with port 0 given the last run's port if it is free. */
export async function reuseListenPorts (dataDir: string, listen: readonly string[], log: Logger): Promise<string[]> {
  const last = await readPorts(dataDir)
  const out: string[] = []
  for (const given of listen) {
    const port = last[given]
    const opts = tcpOptions(given)
    if (port === undefined || opts === undefined || opts.port !== 0) { out.push(given); continue }
    if (await isFree(opts.host, port)) {
      out.push(given.replace(/\/tcp\/0(?=\/|$)/, `/tcp/${port}`))
    } else {
      log.info({ listen: given, port }, `listen port ${port} of the last run is taken by another program: listening on a new port; peers that knew this one at ${opts.host}:${port} find it again when it dials them`)
      out.push(given)
    }
  }
  return out
}

/** Records the port each port-0 address bound, from this run's bound multiaddrs. */
export async function rememberListenPorts (dataDir: string, listen: readonly string[], bound: readonly string[]): Promise<void> {
  const ports: Ports = {}
  const boundOpts = bound.map(tcpOptions).filter(o => o !== undefined)
  const explicit = new Set(listen.map(tcpOptions).filter(o => o !== undefined && o.port !== 0).map(o => o!.port))
  for (const given of listen) {
    const opts = tcpOptions(given)
    if (opts === undefined || opts.port !== 0) continue
    const wildcard = opts.host === '0.0.0.0' || opts.host === '::'
    const match = boundOpts.find(b => b.family === opts.family && (wildcard || b.host === opts.host) && !explicit.has(b.port))
    if (match !== undefined) ports[given] = match.port
  }
  const path = join(dataDir, LISTEN_PORTS_FILE)
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(ports) + '\n', { mode: 0o600 })
  await rename(tmp, path)
}

async function readPorts (dataDir: string): Promise<Ports> {
  let parsed: unknown
  try {
    parsed = JSON.parse(await readFile(join(dataDir, LISTEN_PORTS_FILE), 'utf8'))
  } catch {
    return {} // none yet, or damaged: ports are a convenience, port 0 still works
  }
  const out: Ports = {}
  if (parsed === null || typeof parsed !== 'object') return out
  for (const [k, v] of Object.entries(parsed)) if (Number.isSafeInteger(v) && (v as number) > 0 && (v as number) < 65536) out[k] = v as number
  return out
}

function tcpOptions (addr: string): { family: number, host: string, port: number } | undefined {
  try {
    const [ip, tcp] = multiaddr(addr).getComponents()
    if ((ip?.name !== 'ip4' && ip?.name !== 'ip6') || tcp?.name !== 'tcp' || ip.value === undefined) return undefined
    return { family: ip.name === 'ip4' ? 4 : 6, host: ip.value, port: Number(tcp.value) }
  } catch {
    return undefined
  }
}

async function isFree (host: string, port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const server = createServer()
    server.once('error', () => { resolve(false) })
    server.listen({ host, port, exclusive: true }, () => { server.close(() => { resolve(true) }) })
  })
}
