/**
 * checkLaws: proves with fast-check that a contract is safe to replicate.
 * The pieces live in core/laws/: random histories (history.ts), the lattice
 * laws (checks.ts), what validate accepts and the exactness of views
 * (mutants.ts), merge on valid states that conflict (forged.ts), op meaning
 * and argument immutability (semantics.ts), the op-inputs bar (acceptance.ts)
 * and the replay format (replay.ts).
 */
import fc from 'fast-check'
import type { AnyContract } from './contract.ts'
import { ContractError } from './errors.ts'
import { checkOpInputs, showCounts } from './laws/acceptance.ts'
import { type Check, type Pick, latticeChecks } from './laws/checks.ts'
import { type CallCount, type History, type World, historyArb, runHistory } from './laws/history.ts'
import { mergeForged } from './laws/forged.ts'
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
  'merge-forged': mergeForged,
  'op-model': opModel,
  'view-exact': viewExact
}

/**
 * One property for a set of laws: each run generates one history and checks
 * every law of the set on it, each law with its own picker over the same
 * stream, so a law picks the same states whether checked alone or with others
 * (and a path found with many replays with that law alone).
 */
function property (contract: AnyContract, arbs: LawArbitraries, history: fc.Arbitrary<History>, laws: readonly LawName[]): fc.IProperty<[History, fc.Stream<number>, unknown]> {
  return fc.property(history, fc.infiniteStream(fc.nat()), garbageArb, (h, stream, garbage) => {
    const it = stream[Symbol.iterator]()
    const drawn: number[] = []
    const picker = (): Pick => {
      let k = 0
      return xs => {
        while (drawn.length <= k) drawn.push(it.next().value)
        return xs[drawn[k++] % xs.length]
      }
    }
    let w: World
    try {
      w = runHistory(contract, h)
    } catch (err) {
      if (!(err instanceof LawBroken)) throw new LawBroken(laws[0], `running the history threw ${errorText(err)}`)
      if (laws.includes(err.law)) throw err
      return // a law already reported
    }
    for (const law of laws) {
      try {
        checks[law]({ c: contract, h, w, pick: picker(), garbage, arbs })
      } catch (err) {
        if (!(err instanceof LawBroken)) throw new LawBroken(law, `threw ${errorText(err)}`)
        if (err.law === law) throw err
        // another law's failure, met while checking this one: that law's own check reports it
      }
    }
  })
}

/** Checks every law (or `options.laws`, or the one `options.path` names) and reports each failure with its shrunk counterexample and replay. */
export function checkLaws (contract: AnyContract, arbitraries: LawArbitraries = {}, options: LawOptions = {}): LawReport {
  // Refused ops and garbage throw thousands of ContractErrors; their stacks are never shown, and capturing them was a tenth of the time.
  const stackTraceLimit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return check(contract, arbitraries, options)
  } finally {
    Error.stackTraceLimit = stackTraceLimit
  }
}

function check (contract: AnyContract, arbitraries: LawArbitraries, options: LawOptions): LawReport {
  const seed = options.seed ?? DEFAULT_LAW_SEED
  const numRuns = options.numRuns ?? 200
  const replay = options.path === undefined ? undefined : parsePath(options.path)
  const history = historyArb(contract, arbitraries, options)
  const failures: LawFailure[] = []
  let remaining: LawName[] = replay !== undefined ? [replay.law] : [...options.laws ?? LAWS]
  if (remaining.includes('op-inputs')) {
    remaining = remaining.filter(l => l !== 'op-inputs')
    const calls = new Map<string, CallCount>()
    try {
      checkOpInputs(contract, arbitraries, history, seed, calls)
    } catch (err) {
      if (!(err instanceof LawBroken)) throw err
      failures.push({ law: 'op-inputs', message: err.message, counterexample: `calls per op: ${showCounts(calls)}`, seed, path: formatPath('op-inputs', undefined) })
    }
  }
  // All laws share each run's history; a failure is recorded and the rest checked again without it.
  while (remaining.length > 0) {
    const details = fc.check(property(contract, arbitraries, history, remaining), { numRuns, seed, path: replay?.fcPath })
    if (!details.failed) break
    const err = details.errorInstance
    const law = err instanceof LawBroken && remaining.includes(err.law) ? err.law : remaining[0]
    failures.push({
      law,
      message: err instanceof Error ? err.message : String(err),
      counterexample: show(details.counterexample?.[0]),
      seed,
      path: formatPath(law, details.counterexamplePath ?? undefined)
    })
    remaining = remaining.filter(l => l !== law)
    if (replay !== undefined) break
  }
  failures.sort((a, b) => LAWS.indexOf(a.law) - LAWS.indexOf(b.law))
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
