/**
 * The law merge-forged: merge stays a join, and its result valid, for every
 * pair of states validate accepts, not only for states one history reaches.
 * A peer can send any state validate accepts, and the dangerous ones are
 * consistent alone but conflict with ours: other content under an event we
 * hold (one dot, two entries), the thing a forger or a replica that reused
 * its dots produces. The lattice laws never meet them, since in one history
 * an event has one content.
 *
 * They are built without knowing the contract: the run's history is replayed
 * as a twin, each op call given the arguments of another call of that op (and
 * some replicas' clocks shifted), so the same replicas make the same events
 * with other content. Each twin state is reachable in its own world, so valid;
 * paired with the real world's states (and with accepted mutants of them),
 * merge must commute and associate, and what it gives must pass validate.
 */
import type { JsonValue } from '../json.ts'
import type { Check, CheckInput, Pick } from './checks.ts'
import { type History, runHistory } from './history.ts'
import { mutate } from './mutants.ts'
import { LawBroken, bytesEqual, errorText, roundTrip, show } from './types.ts'

/** Shifts of a replica's clock in the twin: none (same stamps), a tick, a while. */
const SHIFTS = [0, 0, 1, 1000]

/** The history with each op call's arguments taken from a call of the same op, and some clocks shifted. */
export function twinHistory (h: History, pick: Pick): History {
  const argsOf = new Map<string, JsonValue[][]>()
  for (const step of h.steps) {
    if (step.kind !== 'op') continue
    const l = argsOf.get(step.call.op)
    if (l === undefined) argsOf.set(step.call.op, [step.call.args]); else l.push(step.call.args)
  }
  return {
    steps: h.steps.map(step => step.kind !== 'op'
      ? step
      : { ...step, call: { op: step.call.op, args: pick(argsOf.get(step.call.op)!) as JsonValue[] } }),
    skew: h.skew.map(s => s + (pick(SHIFTS) as number))
  }
}

/** validate(roundTrip(x)), or undefined when it refuses (validate-rejects reports exceptions that are not ContractErrors). */
function accept (x: CheckInput, input: unknown): unknown {
  try { return x.c.validate(roundTrip(input)) } catch { return undefined }
}

export const mergeForged: Check = x => {
  const { c, h, w, pick, garbage } = x
  const twin = runHistory(c, twinHistory(h, pick))
  const forged: unknown[] = [...twin.all]
  const mutant = accept(x, mutate(pick(w.all), structuredClone(garbage), pick))
  if (mutant !== undefined) forged.push(mutant)
  const a = pick(w.all)
  const b = pick(forged)
  const d = pick([a, b, pick(w.all), pick(forged)])
  const fail = (what: string): never => {
    throw new LawBroken('merge-forged', `${what}, for states validate accepts that hold other content under the same events: a=${show(a)} b=${show(b)}`)
  }
  const ab = c.merge(a, b)
  if (!bytesEqual(ab, c.merge(b, a))) fail(`merge(a, b) = ${show(ab)} ≠ merge(b, a) = ${show(c.merge(b, a))}`)
  let again: unknown
  try { again = c.validate(roundTrip(ab)) } catch (err) { fail(`validate refuses merge(a, b) = ${show(ab)}: ${errorText(err)}`) }
  if (!bytesEqual(again, ab)) fail(`validate changes merge(a, b) = ${show(ab)}`)
  const left = c.merge(ab, d); const right = c.merge(a, c.merge(b, d))
  if (!bytesEqual(left, right)) fail(`merge(merge(a, b), c) = ${show(left)} ≠ merge(a, merge(b, c)) = ${show(right)} with c=${show(d)}`)
}
