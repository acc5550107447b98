/**
 * `npm run sim -- --peers 50 --keys 1000 --faults drop=0.2,dup=0.2,partition --seed S`
 * Runs one seeded simulation and prints whether the replicas converged, the
 * time and anti-entropy rounds from heal to convergence, traffic per peer and
 * bytes received over the ideal, then a command that replays the run exactly.
 * Exit code: 0 passed, 1 failed (not converged, or lost/invented data), 2 bad arguments.
 */
import { parseArgs } from 'node:util'
import { checkSchedule, parseFaults, type FaultSchedule, type FaultSpec } from './faults.ts'
import { formatResult } from './report.ts'
import { type SimOptions, replayCommand, simulate } from './simulation.ts'
import { createSyncEngine } from './sync-engine.ts'
import { keyContracts } from './workload.ts'

const USAGE = `usage: npm run sim -- [options]
  --seed N        seed (0..4294967295); default: a random one, printed
  --peers N       replicas (2..500, default 5)
  --keys N        keys (1..1000000, default 50)
  --ops N         ops in the workload window (default 2 per key)
  --contracts IDS comma-separated contract ids the keys use (default: every built-in)
  --partial F     fraction of the peers (0..1, default 0) that keep only a random 10–50% of the keys,
                  write only those and want them; at least one peer always keeps every key
  --faults LIST   comma-separated: drop[=p] dup[=p] delay[=ms] skew[=ms] partition crash, or random / none
                  (a name without a value is drawn per seed; default random)
  --horizon MS    workload and fault window in virtual ms (default 3000)
  --deadline MS   give up converging this long after the heal (default 120000)
  --schedule JSON an exact fault schedule (overrides --faults), as printed in replay commands
  --json          print the result as JSON instead
  --help          this text`

function fail (message: string): never {
  process.stderr.write(`sim: ${message}\n${USAGE}\n`)
  process.exit(2)
}

function whole (name: string, text: string | undefined, lo: number, hi: number): number | undefined {
  if (text === undefined) return undefined
  const n = Number(text)
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < lo || n > hi) fail(`--${name} must be a whole number in ${lo}..${hi}, got "${text}"`)
  return n
}

function parseCommandLine (argv: string[]): { options: Omit<SimOptions, 'createEngine'>, json: boolean } {
  let values
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: 'string' },
        peers: { type: 'string' },
        keys: { type: 'string' },
        ops: { type: 'string' },
        contracts: { type: 'string' },
        partial: { type: 'string' },
        faults: { type: 'string' },
        horizon: { type: 'string' },
        deadline: { type: 'string' },
        schedule: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' }
      }
    }).values
  } catch (err) {
    fail((err as Error).message)
  }
  if (values.help === true) { process.stdout.write(USAGE + '\n'); process.exit(0) }
  const peers = whole('peers', values.peers, 2, 500) ?? 5
  let faults: FaultSpec | undefined
  try {
    faults = parseFaults(values.faults ?? 'random')
  } catch (err) {
    fail(`--faults: ${(err as Error).message}`)
  }
  let schedule: FaultSchedule | undefined
  if (values.schedule !== undefined) {
    try {
      schedule = JSON.parse(values.schedule) as FaultSchedule
      checkSchedule(schedule, peers)
    } catch (err) {
      fail(`--schedule: ${(err as Error).message}`)
    }
  }
  let contracts: string[] | undefined
  if (values.contracts !== undefined) {
    contracts = values.contracts.split(',').map(x => x.trim())
    try {
      keyContracts(contracts)
    } catch (err) {
      fail(`--contracts: ${(err as Error).message}`)
    }
  }
  let partial: number | undefined
  if (values.partial !== undefined) {
    partial = Number(values.partial)
    if (values.partial.trim() === '' || !Number.isFinite(partial) || partial < 0 || partial > 1) fail(`--partial must be a fraction in 0..1, got "${values.partial}"`)
  }
  const options: Omit<SimOptions, 'createEngine'> = {
    seed: whole('seed', values.seed, 0, 0xffffffff) ?? Math.floor(Math.random() * 0x100000000),
    peers,
    keys: whole('keys', values.keys, 1, 1_000_000) ?? 50,
    ops: whole('ops', values.ops, 0, 100_000_000),
    contracts,
    partial,
    faults,
    schedule,
    horizonMs: whole('horizon', values.horizon, 1, 86_400_000),
    deadlineMs: whole('deadline', values.deadline, 1, 86_400_000)
  }
  return { options, json: values.json === true }
}

async function main (): Promise<void> {
  const { options, json } = parseCommandLine(process.argv.slice(2))
  const started = performance.now()
  const result = await simulate({ ...options, createEngine: createSyncEngine })
  const replay = replayCommand(options)
  if (json) process.stdout.write(JSON.stringify({ ...result, replay }, null, 2) + '\n')
  else process.stdout.write([...formatResult(result, replay), `  (${((performance.now() - started) / 1000).toFixed(1)} s real time)`].join('\n') + '\n')
  process.exitCode = result.problems.length === 0 ? 0 : 1
}

await main()
