/**
 * The op-inputs law: a check is only as good as the calls it makes. An op that
 * refuses nearly every generated call (say `add(n, why)` fed one value) leaves
 * only empty states to check, and a broken contract passes; so each op must
 * accept at least 20% of its calls, on the states histories reach, or the
 * contract is refused with what to export.
 */
import fc from 'fast-check'
import type { AnyContract } from '../contract.ts'
import { type CallCount, type History, runHistory } from './history.ts'
import { LawBroken, type LawArbitraries, show } from './types.ts'

export const MIN_ACCEPTED = 0.2
/** Histories sampled, whatever the runs per law (so a replay by seed alone gives the same counts): a few hundred calls per op, in milliseconds. */
const SAMPLES = 100

function advice (c: AnyContract, op: string): string {
  return `export lawInputs beside the contract, e.g. export const lawInputs = { ${JSON.stringify(c.id)}: { ops: { ${JSON.stringify(op)}: fc.tuple(/* one arbitrary per argument */) } } }: ` +
    `for each op an fc.Arbitrary of argument lists it accepts (for a checkLaws call: its second argument, { ops: { … } })`
}

/** Throws LawBroken('op-inputs') naming the first op below the bar. */
export function checkOpInputs (c: AnyContract, arbs: LawArbitraries, history: fc.Arbitrary<History>, seed: number, calls = new Map<string, CallCount>()): void {
  for (const op of Object.keys(arbs.ops ?? {})) {
    if (!Object.hasOwn(c.ops, op)) throw new LawBroken('op-inputs', `lawInputs has arguments for op "${op}", which contract "${c.id}" does not have (its ops: ${Object.keys(c.ops).join(', ')})`)
  }
  for (const h of fc.sample(history, { numRuns: SAMPLES, seed })) {
    try {
      runHistory(c, h, calls)
    } catch {
      // another law's failure; its check reports it, and the calls made so far still count
    }
  }
  for (const op of Object.keys(c.ops)) {
    const count = calls.get(op) ?? { made: 0, refused: 0 }
    if (count.made === 0) {
      throw new LawBroken('op-inputs', `op "${op}" was never called: the op arbitrary makes no calls of it; ${advice(c, op)}`)
    }
    const accepted = count.made - count.refused
    if (accepted < MIN_ACCEPTED * count.made) {
      throw new LawBroken('op-inputs', `op "${op}" accepted ${accepted} of ${count.made} generated calls (${Math.round(100 * accepted / count.made)}%, under ${100 * MIN_ACCEPTED}%), ` +
        `so its laws were checked on almost nothing (last refused: ${count.lastRefusal === undefined ? 'none' : `${op}(${show(count.lastRefusal.call.args).slice(1, -1)}): ${count.lastRefusal.message}`}); ${advice(c, op)}`)
    }
  }
}

/** The per-op counts as printed in a failure. */
export function showCounts (calls: Map<string, CallCount>): string {
  return show(Object.fromEntries([...calls].map(([op, n]) => [op, { made: n.made, refused: n.refused }])))
}
