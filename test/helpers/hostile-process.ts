// Runs test/helpers/hostile-peer.ts as a child process and drives it by its stdin commands.
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const SCRIPT = fileURLToPath(new URL('./hostile-peer.ts', import.meta.url))

/** `to`: the multiaddrs (as given at start) stream frames go to; default all. */
export interface HostileCommand { mode: string, count?: number, rate?: number, seconds?: number, keys?: string[], to?: string[] }
/** What the hostile peer saw (see hostile-peer.ts): messages sent, and the stream and dial outcomes so far. */
export interface HostileReport { done: string, sent: number, streamsReset: number, streamsRefused: number, dialsRefused: number, connected: number }

export interface HostileProcess {
  peerId: string
  /** The public key its owned-key forgeries are signed with (when started with MONOIDB_HOSTILE_OWNED). */
  forgerKey?: string
  proc: ChildProcess
  /** Runs one command; resolves with its report once done. */
  run: (cmd: HostileCommand) => Promise<HostileReport>
  output: () => string
  stop: () => Promise<void>
}

/** `env`: more environment for the process (e.g. MONOIDB_HOSTILE_OWNED, see hostile-peer.ts). */
export async function startHostile (targets: readonly string[], readyMs = 20_000, env: Record<string, string> = {}): Promise<HostileProcess> {
  const proc = spawn(process.execPath, [SCRIPT, ...targets.flatMap(t => ['--target', t])], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let err = ''
  const lines: string[] = []
  proc.stderr!.on('data', d => { err += String(d) })
  const waiting: Array<(line: Record<string, unknown>) => void> = []
  createInterface({ input: proc.stdout! }).on('line', line => {
    lines.push(line)
    let parsed: Record<string, unknown>
    try { parsed = JSON.parse(line) } catch { return }
    waiting.shift()?.(parsed)
  })
  const exited = new Promise<void>(resolve => { proc.once('exit', () => { resolve() }) })
  const output = (): string => `stdout: ${lines.join('\n')}\nstderr: ${err}`
  const next = async (ms: number): Promise<Record<string, unknown>> => await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`the hostile peer said nothing for ${ms} ms\n${output()}`)) }, ms)
    waiting.push(line => { clearTimeout(timer); resolve(line) })
    void exited.then(() => { clearTimeout(timer); reject(new Error(`the hostile peer exited\n${output()}`)) })
  })
  const ready = await next(readyMs)
  if (ready.ready !== true) throw new Error(`the hostile peer did not start\n${output()}`)
  let queue: Promise<unknown> = Promise.resolve()
  return {
    peerId: String(ready.peerId),
    ...typeof ready.forgerKey === 'string' ? { forgerKey: ready.forgerKey } : {},
    proc,
    output,
    run: async cmd => {
      const mine = queue.then(async () => {
        const reply = next(60_000 + (cmd.seconds ?? 0) * 1000)
        proc.stdin!.write(JSON.stringify(cmd) + '\n')
        const r = await reply
        if (r.error !== undefined) throw new Error(`the hostile peer failed: ${String(r.error)}`)
        return r as unknown as HostileReport
      })
      queue = mine.catch(() => {})
      return await mine
    },
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      proc.kill('SIGKILL')
      await exited
    }
  }
}
