/**
 * What bench:net shares between its phases: the child processes and temp
 * folders it made (all stopped and removed by `cleanup`, also on SIGINT and on
 * errors), CPU time read from /proc, waiting, and percentiles.
 */
import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const children = new Set<ChildProcess>()
const folders = new Set<string>()
let cleaning: Promise<void> | undefined

/** A child process that `cleanup` will stop. Its output is kept (the last 64 KiB) for error messages. */
export interface Child {
  proc: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

export function spawnChild (file: string, args: readonly string[], options: SpawnOptions & { nodeArgs?: readonly string[] } = {}): Child {
  const { nodeArgs = [], ...spawnOptions } = options
  const proc = spawn(process.execPath, [...nodeArgs, file, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions })
  children.add(proc)
  let output = ''
  const keep = (b: Buffer): void => { output = (output + String(b)).slice(-65_536) }
  proc.stdout?.on('data', keep)
  proc.stderr?.on('data', keep)
  const exited = new Promise<number | null>(resolve => proc.once('exit', code => { children.delete(proc); resolve(code) }))
  return { proc, output: () => output, exited }
}

/** Stops one child: SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stopChild (child: Child, graceMs = 5_000): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return
  child.proc.kill('SIGTERM')
  const timer = setTimeout(() => { child.proc.kill('SIGKILL') }, graceMs)
  await child.exited
  clearTimeout(timer)
}

export async function tempFolder (name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `monoidb-bench-net-${name}-`))
  folders.add(dir)
  return dir
}

/** Stops every child still running and removes every temp folder. Safe to call more than once. */
export async function cleanup (): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all([...children].map(async proc => {
      await stopChild({ proc, output: () => '', exited: new Promise(resolve => proc.once('exit', resolve)) })
    }))
    await Promise.all([...folders].map(async dir => { await rm(dir, { recursive: true, force: true }) }))
    folders.clear()
  })()
  await cleaning
}

/** On SIGINT/SIGTERM/SIGHUP, or an error nobody caught: clean up, then exit. */
export function cleanUpOnExit (): void {
  const bail = (code: number) => (): void => { void cleanup().finally(() => process.exit(code)) }
  process.once('SIGINT', bail(130))
  process.once('SIGTERM', bail(143))
  process.once('SIGHUP', bail(129))
  process.on('uncaughtException', err => { console.error(err); bail(1)() })
  process.on('unhandledRejection', err => { console.error(err); bail(1)() })
}

/** CPU seconds (user + system) a process has used, from /proc/PID/stat; 0 if it is gone. */
export async function cpuSeconds (pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return 0
  }
}

/** CPU seconds this process has used. */
export function ownCpuSeconds (): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Polls `cond` every 10 ms until it holds; throws naming `what` after `ms`. */
export async function until (what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!await cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(10)
  }
}

/** The q-quantile (0..1) of `values` by the nearest-rank method; NaN if empty. */
export function quantile (values: readonly number[], q: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]
}

/** Monotonic time in ms; CLOCK_MONOTONIC is one clock for every process on the machine. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6
