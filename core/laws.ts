/**
 * checkLaws: proves with fast-check that a contract is safe to replicate.
 * The pieces live in core/laws/: random histories (history.ts), the lattice
 * laws (checks.ts), what validate accepts and the exactness of views
 * (mutants.ts), op meaning and argument immutability (semantics.ts), the
 * op-inputs bar (acceptance.ts) and the replay format (replay.ts).
 */
import fc from 'fast-check'
import type { AnyContract } from './contract.ts'
import { ContractError } from './errors.ts'
import { checkOpInputs, showCounts } from './laws/acceptance.ts'
import { type Check, type Pick, latticeChecks } from './laws/checks.ts'
import { type CallCount, historyArb, runHistory } from './laws/history.ts'
import { garbageArb, validateRejects, viewExact } from './laws/mutants.ts'
import { formatPath, parsePath, replayText } from './laws/replay.ts'
import { noMutation, opModel } from './laws/semantics.ts'
import { DEFAULT_LAW_SEED, LAWS, LawBroken, type LawArbitraries, type LawFailure, type LawName, type LawOptions, type LawReport, errorText, show } from './laws/types.ts'

export { DEFAULT_LAW_SEED, LAWS, type LawArbitraries, type LawFailure, type LawInputs, type LawInputsById, type LawModel, type LawName, type LawOptions, type LawReport, type OpCall, show } from './laws/types.ts'
export { defaultValue } from './laws/history.ts'
export { inexactNumber } from './laws/mutants.ts'
export { parsePath, replayText } from './laws/replay.ts'

const checks: Record<LawName, Check> = {
  ...latticeChecks as Record<LawName, Check>,
  'op-inputs': () => { /* checked by sampling, before the properties */ },
  'no-mutation': noMutation,
  'validate-rejects': validateRejects,
  'op-model': opModel,
  'view-exact': viewExact
}

/** Checks every law (or `options.laws`, or the one `options.path` names) and reports each failure with its shrunk counterexample and replay. */
export function checkLaws (contract: AnyContract, arbitraries: LawArbitraries = {}, options: LawOptions = {}): LawReport {
  const seed = options.seed ?? DEFAULT_LAW_SEED
  const numRuns = options.numRuns ?? 200
  const replay = options.path === undefined ? undefined : parsePath(options.path)
  const history = historyArb(contract, arbitraries, options)
  const failures: LawFailure[] = []
  for (const law of replay !== undefined ? [replay.law] : options.laws ?? LAWS) {
    if (law === 'op-inputs') {
      const calls = new Map<string, CallCount>()
      try {
        checkOpInputs(contract, arbitraries, history, numRuns, seed, calls)
      } catch (err) {
        if (!(err instanceof LawBroken)) throw err
        failures.push({ law, message: err.message, counterexample: `calls per op: ${showCounts(calls)}`, seed, path: formatPath(law, undefined) })
      }
      continue
    }
    const details = fc.check(fc.property(history, fc.infiniteStream(fc.nat()), garbageArb, (h, stream, garbage) => {
      const it = stream[Symbol.iterator]()
      const pick: Pick = xs => xs[it.next().value % xs.length]
      try {
        checks[law]({ c: contract, h, w: runHistory(contract, h), pick, garbage, arbs: arbitraries })
      } catch (err) {
        if (err instanceof LawBroken) {
          if (err.law === law) throw err
          return // another law's failure; that law reports it
        }
        throw new LawBroken(law, `threw ${errorText(err)}`)
      }
    }), { numRuns, seed, path: replay?.fcPath })
    if (details.failed) {
      const err = details.errorInstance
      failures.push({
        law,
        message: err instanceof Error ? err.message : String(err),
        counterexample: show(details.counterexample?.[0]),
        seed,
        path: formatPath(law, details.counterexamplePath ?? undefined)
      })
    }
  }
  return { ok: failures.length === 0, failures }
}

/** Throws ContractError('law_broken') naming the first broken law, its counterexample and its replay. */
export function assertLaws (contract: AnyContract, arbitraries?: LawArbitraries, options?: LawOptions): void {
  const report = checkLaws(contract, arbitraries, options)
  if (report.ok) return
  const f = report.failures[0]
  throw new ContractError('law_broken',
    `contract "${contract.id}" breaks law ${f.law}: ${f.message}\n  counterexample history: ${f.counterexample}\n  replay: ${replayText(f)}` +
    (report.failures.length > 1 ? `\n  also broken: ${report.failures.slice(1).map(x => x.law).join(', ')}` : ''))
}
