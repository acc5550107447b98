// Real `monoidb daemon` processes on 127.0.0.1 for end-to-end tests: spawned on ports picked at run time,
// ready once they print their ready line (daemon.json is written just before it), and always killed by cleanup().
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type MonoidbClient, connect } from '../../node/client.ts'
import type { DaemonInfo } from '../../node/daemon.ts'
import { until } from './node-fixtures.ts'

const DAEMON_PATH = fileURLToPath(new URL('../../node/daemon.ts', import.meta.url))
const READY_MS = 15_000

export interface DaemonProcess {
  /** Its data folder (reusable by a restart once it has exited). */
  dir: string
  /** This run's daemon.json. */
  info: DaemonInfo
  client: MonoidbClient
  proc: ChildProcess
  /** Everything it printed so far, for failure messages. */
  output: () => string
  /** Resolves with the exit code (null if a signal ended it) once the process has exited. */
  exited: Promise<number | null>
  /** Sends `signal` and waits for the process to exit. */
  kill: (signal?: NodeJS.Signals) => Promise<void>
  /** SIGTERM, then the exit code (0 for a clean stop). */
  stop: () => Promise<number | null>
}

export interface StartOptions {
  /** An existing data folder, e.g. a killed daemon's; default a new one. */
  dir?: string
  /** Multiaddrs ending in /p2p/<peer id>. */
  bootstrap?: readonly string[]
  /** More daemon flags. */
  args?: readonly string[]
  /** A script to run instead of node/daemon.ts, taking the same flags (a fault wrapper under test/fixtures/). */
  script?: string
  /** More environment variables for the process. */
  env?: Record<string, string>
}

export interface DaemonFixtures {
  start: (options?: StartOptions) => Promise<DaemonProcess>
  /** Kills every process started here (SIGKILL) and removes the data folders; call it in `after`. */
  cleanup: () => Promise<void>
}

export async function daemonFixtures (name: string): Promise<DaemonFixtures> {
  const root = await mkdtemp(join(tmpdir(), `monoidb-e2e-${name}-`))
  const procs: ChildProcess[] = []
  let n = 0

  async function start (options: StartOptions = {}): Promise<DaemonProcess> {
    const dir = options.dir ?? join(root, `daemon${n++}`)
    const args = ['--data', dir, '--api', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0']
    for (const b of options.bootstrap ?? []) args.push('--bootstrap', b)
    args.push(...options.args ?? [])
    const proc = spawn(process.execPath, [options.script ?? DAEMON_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } })
    procs.push(proc)
    let out = ''; let err = ''
    proc.stdout!.on('data', b => { out += String(b) })
    proc.stderr!.on('data', b => { err += String(b) })
    const output = (): string => `stdout: ${out}\nstderr: ${err}`
    const exited = new Promise<number | null>(resolve => { proc.once('exit', code => { resolve(code) }) })
    const gone = (): boolean => proc.exitCode !== null || proc.signalCode !== null

    // The ready line, not daemon.json: a SIGKILLed run leaves its daemon.json behind.
    await until(`the daemon in ${dir} to be ready`, () => out.includes('monoidb daemon ready') || gone(), READY_MS)
    if (!out.includes('monoidb daemon ready')) {
      if (!gone()) proc.kill('SIGKILL')
      throw new Error(`the daemon in ${dir} did not start (exit ${proc.exitCode ?? proc.signalCode})\n${output()}`)
    }
    const info = JSON.parse(await readFile(join(dir, 'daemon.json'), 'utf8')) as DaemonInfo
    const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
      if (!gone()) proc.kill(signal)
      await exited
    }
    return {
      dir,
      info,
      client: connect(info.api, info.token, info.ca === undefined ? {} : { ca: await readFile(info.ca) }),
      proc,
      output,
      exited,
      kill,
      async stop () { await kill('SIGTERM'); return await exited }
    }
  }

  return {
    start,
    async cleanup () {
      await Promise.all(procs.map(async p => {
        if (p.exitCode !== null || p.signalCode !== null) return
        const exit = new Promise(resolve => p.once('exit', resolve))
        p.kill('SIGKILL')
        await exit
      }))
      await rm(root, { recursive: true, force: true })
    }
  }
}

/** Waits until every daemon is connected to every other one and knows it subscribes to the sync topics. */
export async function untilMeshed (daemons: readonly DaemonProcess[], ms = 10_000): Promise<void> {
  await until('the daemons to connect to each other', async () => {
    for (const d of daemons) {
      const subscribed = new Set((await d.client.peers()).filter(p => p.subscribed).map(p => p.peerId))
      if (daemons.some(o => o !== d && !subscribed.has(o.info.peerId))) return false
    }
    return true
  }, ms)
}

/** A value compared without regard to array order (a set's view is in canonical order, not insertion order). */
export function sortedJson (value: unknown): string {
  return JSON.stringify(Array.isArray(value) ? [...value].map(v => JSON.stringify(v)).sort() : value)
}
