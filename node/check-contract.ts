/**
 * `monoidb check-contract MODULE [--runs N] [--seed S] [--path P]`: the law
 * check a daemon runs on --contract modules, without a daemon, for contract
 * authors' CI. Exit 0: every contract of the module passes; 1: a law is
 * broken (each broken law printed with its shrunk counterexample and the
 * flags that replay it) or a contract is malformed; 2: bad usage, or a module
 * that cannot be loaded or exports no contract.
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_LAW_SEED, LAWS, checkLaws } from '../core/laws.ts'
import { ContractRegistry } from '../core/registry.ts'
import { type ContractModule, importContractModule } from './contract-modules.ts'
import { UsageError, parseLawFlags } from './daemon-args.ts'

export const CHECK_CONTRACT_USAGE = `usage: monoidb check-contract MODULE [--runs N] [--seed S] [--path P]

Law-checks every contract MODULE exports, as \`monoidb daemon --contract MODULE\` does at start,
with the module's lawInputs export (argument generators per op, and a model) if it has one.

  --runs N   runs per law (default 200; CI may want 1000)
  --seed S   seed (default ${DEFAULT_LAW_SEED}, so every run of the check gives the same verdict)
  --path P   replay one failure: the path its report prints (with its --seed)

Exit status: 0 every law holds; 1 a law is broken (the law, its shrunk counterexample and
the flags that replay it are printed) or a contract is malformed; 2 bad usage, or a MODULE
that cannot be loaded or exports no contract.`

function fail (message: string, code: number): number {
  console.error(`monoidb check-contract: ${message}${code === 2 ? `\n\n${CHECK_CONTRACT_USAGE}` : ''}`)
  return code
}

/** Runs the command with the arguments after `check-contract`; returns the exit code. */
export async function runCheckContract (argv: readonly string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options: { runs: { type: 'string' }, seed: { type: 'string' }, path: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } }
    })
  } catch (err) {
    return fail((err as Error).message, 2)
  }
  const { values, positionals } = parsed
  if (values.help) { console.log(CHECK_CONTRACT_USAGE); return 0 }
  if (positionals.length !== 1) return fail(positionals.length === 0 ? 'MODULE is needed' : `one MODULE at a time, got ${positionals.length}`, 2)
  let options
  try {
    options = parseLawFlags(values.seed, values.runs, values.path, '--')
  } catch (err) {
    if (err instanceof UsageError) return fail(err.message, 2)
    throw err
  }
  const path = resolve(positionals[0])
  let mod: ContractModule
  try {
    mod = await importContractModule(path)
  } catch (err) {
    return fail((err as Error).message, 2)
  }

  const seed = options.seed ?? DEFAULT_LAW_SEED
  const runs = options.numRuns ?? 200
  let broken = false
  for (const c of mod.contracts) {
    try {
      new ContractRegistry().register(c, { trusted: true }) // the shape check registration makes
    } catch (err) {
      console.log(`FAIL ${c.id}: ${(err as Error).message}`)
      broken = true
      continue
    }
    const started = performance.now()
    const report = checkLaws(c, mod.lawInputs[c.id] ?? {}, { numRuns: runs, seed, path: options.path })
    const took = ((performance.now() - started) / 1000).toFixed(1)
    if (report.ok) {
      console.log(`ok   ${c.id}: ${options.path === undefined ? `${LAWS.length} laws` : `replay of ${options.path}`}, ${runs} runs each, seed ${seed} (${took} s)`)
      continue
    }
    broken = true
    console.log(`FAIL ${c.id}: breaks ${report.failures.map(f => f.law).join(', ')} (${took} s)`)
    for (const f of report.failures) {
      console.log(`  law ${f.law}: ${f.message}`)
      console.log(`    counterexample: ${f.counterexample}`)
      console.log(`    replay: monoidb check-contract ${positionals[0]} --seed ${f.seed} --path ${f.path}` +
        ` (daemon: --law-seed ${f.seed} --law-path ${f.path}; checkLaws options: { seed: ${f.seed}, path: ${JSON.stringify(f.path)} })`)
    }
  }
  return broken ? 1 : 0
}
