// A listen address with port 0 takes the last run's port when it is free (DIR/listen-ports.json), else a new one, logged.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LISTEN_PORTS_FILE, rememberListenPorts, reuseListenPorts } from '../../node/listen-ports.ts'
import type { Logger } from '../../node/logger.ts'

const root = await mkdtemp(join(tmpdir(), 'monoidb-listen-ports-'))
const servers: Server[] = []
after(async () => {
  for (const s of servers) s.close()
  await rm(root, { recursive: true, force: true })
})

function captureLog (): Logger & { lines: string[] } {
  const lines: string[] = []
  const at = (fields: object, msg: string): void => { lines.push(`${msg} ${JSON.stringify(fields)}`) }
  return { lines, error: at, warn: at, info: at, debug: at }
}

async function listen (port = 0): Promise<number> {
  const s = createServer()
  servers.push(s)
  await new Promise<void>(resolve => s.listen(port, '127.0.0.1', resolve))
  return (s.address() as { port: number }).port
}

async function freePort (): Promise<number> {
  const s = createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as { port: number }
  await new Promise(resolve => s.close(resolve))
  return port
}

const LOCAL = '/ip4/127.0.0.1/tcp/0'

test('the last bound port is remembered and reused while free; a taken one falls back to 0 and is logged', async () => {
  const dir = join(root, 'a')
  await mkdir(dir)
  const log = captureLog()
  assert.deepEqual(await reuseListenPorts(dir, [LOCAL], log), [LOCAL], 'nothing remembered yet')

  const port = await freePort()
  await rememberListenPorts(dir, [LOCAL, '/ip4/127.0.0.1/tcp/7999'], [`/ip4/127.0.0.1/tcp/7999/p2p/x`, `/ip4/127.0.0.1/tcp/${port}/p2p/x`])
  assert.deepEqual(JSON.parse(await readFile(join(dir, LISTEN_PORTS_FILE), 'utf8')), { [LOCAL]: port }, 'only port-0 addresses, matched to the port bound for them')
  assert.deepEqual(await reuseListenPorts(dir, [LOCAL], log), [`/ip4/127.0.0.1/tcp/${port}`])
  assert.deepEqual(await reuseListenPorts(dir, ['/ip4/127.0.0.1/tcp/7421', '/ip6/::1/tcp/0'], log), ['/ip4/127.0.0.1/tcp/7421', '/ip6/::1/tcp/0'], 'explicit ports and addresses not remembered are kept as given')
  assert.deepEqual(log.lines, [])

  await listen(port) // another program takes it
  assert.deepEqual(await reuseListenPorts(dir, [LOCAL], log), [LOCAL])
  assert.equal(log.lines.length, 1)
  assert.match(log.lines[0], new RegExp(`listen port ${port} of the last run is taken`))
})

test('a wildcard address remembers the port of the interface addresses it bound; a damaged file is ignored', async () => {
  const dir = join(root, 'b')
  await mkdir(dir)
  const port = await freePort()
  await rememberListenPorts(dir, ['/ip4/0.0.0.0/tcp/0'], [`/ip4/127.0.0.1/tcp/${port}/p2p/x`, `/ip4/10.0.0.5/tcp/${port}/p2p/x`])
  assert.deepEqual(JSON.parse(await readFile(join(dir, LISTEN_PORTS_FILE), 'utf8')), { '/ip4/0.0.0.0/tcp/0': port })

  await writeFile(join(dir, LISTEN_PORTS_FILE), '{"/ip4/127.0.0.1/tcp/0": "x", "/ip4/0.0.0.0/tcp/0": 70000')
  assert.deepEqual(await reuseListenPorts(dir, [LOCAL, '/ip4/0.0.0.0/tcp/0'], captureLog()), [LOCAL, '/ip4/0.0.0.0/tcp/0'])
  await writeFile(join(dir, LISTEN_PORTS_FILE), '{"/ip4/127.0.0.1/tcp/0": "x", "/ip4/0.0.0.0/tcp/0": 70000}')
  assert.deepEqual(await reuseListenPorts(dir, [LOCAL, '/ip4/0.0.0.0/tcp/0'], captureLog()), [LOCAL, '/ip4/0.0.0.0/tcp/0'], 'ports that are no ports are ignored')
})
