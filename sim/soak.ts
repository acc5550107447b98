/**
 * `npm run sim:soak [-- --seeds 10000 --from 1 --workers N --partial]`: runs many seeded
 * cases (sim/seed-case.ts; with --partial, some peers keep only some keys) with random faults on worker threads, printing a
 * progress line, then every failing seed with its replay command.
 * Exit code: 0 all passed, 1 some failed, 2 bad arguments.
 */
import { availableParallelism } from 'node:os'
import { parseArgs } from 'node:util'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { partialSeedCase, seedCase } from './seed-case.ts'
import { replayCommand, simulate } from './simulation.ts'
import { createSyncEngine } from './sync-engine.ts'

interface Outcome { seed: number, ok: boolean, problems: string[], replay: string, ms: number }

async function runSeed (seed: number, partial: boolean): Promise<Outcome> {
  const c = partial ? partialSeedCase(seed) : seedCase(seed)
  const started = performance.now()
  let problems: string[]
  try {
    problems = (await simulate({ ...c, createEngine: createSyncEngine })).problems
  } catch (err) {
    problems = [`threw: ${(err as Error).stack ?? String(err)}`]
  }
  return { seed, ok: problems.length === 0, problems, replay: replayCommand(c), ms: performance.now() - started }
}

const USAGE = `usage: npm run sim:soak -- [--seeds N (default 10000)] [--from S (default 1)] [--workers N (default: CPU count)] [--partial (some peers keep only some keys)]`

function wholeArg (name: string, text: string | undefined, fallback: number, lo: number, hi: number): number {
  if (text === undefined) return fallback
  const n = Number(text)
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < lo || n > hi) {
    process.stderr.write(`sim:soak: --${name} must be a whole number in ${lo}..${hi}, got "${text}"\n${USAGE}\n`)
    process.exit(2)
  }
  return n
}

async function main (): Promise<void> {
  let values
  try {
    values = parseArgs({ args: process.argv.slice(2), strict: true, options: { seeds: { type: 'string' }, from: { type: 'string' }, workers: { type: 'string' }, partial: { type: 'boolean' }, help: { type: 'boolean' } } }).values
  } catch (err) {
    process.stderr.write(`sim:soak: ${(err as Error).message}\n${USAGE}\n`)
    process.exit(2)
  }
  if (values.help === true) { process.stdout.write(USAGE + '\n'); return }
  const seeds = wholeArg('seeds', values.seeds, 10_000, 1, 10_000_000)
  const from = wholeArg('from', values.from, 1, 0, 0xffffffff - seeds + 1)
  const workers = wholeArg('workers', values.workers, availableParallelism(), 1, 256)
  const started = performance.now()
  const failures: Outcome[] = []
  let done = 0
  let next = from
  const progress = (): void => {
    const s = (performance.now() - started) / 1000
    const eta = done === 0 ? 0 : (s / done) * (seeds - done)
    process.stdout.write(`\rseeds ${done}/${seeds} done, ${failures.length} failed, ${s.toFixed(0)} s elapsed, ~${eta.toFixed(0)} s left   `)
  }
  await Promise.all(Array.from({ length: Math.min(workers, seeds) }, async () => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { partial: values.partial === true } })
    try {
      while (next < from + seeds) {
        const seed = next++
        const outcome = await new Promise<Outcome>((resolve, reject) => {
          worker.once('message', resolve)
          worker.once('error', reject)
          worker.postMessage(seed)
        })
        worker.removeAllListeners('error')
        done++
        if (!outcome.ok) failures.push(outcome)
        if (done % 10 === 0 && done < seeds) progress()
      }
    } finally {
      await worker.terminate()
    }
  }))
  progress()
  const seconds = (performance.now() - started) / 1000
  process.stdout.write(`\n${seeds - failures.length}/${seeds} seeds passed (seeds ${from}..${from + seeds - 1}) in ${seconds.toFixed(1)} s on ${workers} worker(s)\n`)
  for (const f of failures.sort((a, b) => a.seed - b.seed)) {
    process.stdout.write(`seed ${f.seed} FAILED: ${f.problems.slice(0, 3).join(' | ')}\n  replay: ${f.replay}\n`)
  }
  process.exitCode = failures.length === 0 ? 0 : 1
}

if (isMainThread) {
  await main()
} else if (typeof workerData?.partial === 'boolean') {
  const partial = workerData.partial as boolean
  parentPort!.on('message', (seed: number) => {
    void runSeed(seed, partial).then(o => { parentPort!.postMessage(o) })
  })
}
