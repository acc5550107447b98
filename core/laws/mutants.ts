/**
 * Laws on what validate accepts, which peers can send anything: garbage and
 * mutants of reachable states are refused with a ContractError, or else behave
 * as states (merge stays idempotent, commutative and closed); and the view of
 * every state validate accepts, merged or not, is exact.
 */
import fc from 'fast-check'
import { encode } from '../codec.ts'
import { ContractError } from '../errors.ts'
import { type Check, type CheckInput, type Pick, pickState } from './checks.ts'
import { LawBroken, bytesEqual, errorText, roundTrip, show } from './types.ts'

const MAX = Number.MAX_SAFE_INTEGER
/** Numbers at the edge of what a JSON number carries exactly, and past it. */
const BOUNDARY: readonly number[] = [MAX, MAX - 1, 2 ** 52, -MAX, 2 ** 53, 1e300]

export const garbageArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(undefined, [], {}, [[]], [['alice', [1, 1]]], -1, 1.5, new Uint8Array(2), ...BOUNDARY)
)

/** A copy of `x` with one random sub-value replaced by `garbage`, or one array reversed, doubled up or cut short. */
export function mutate (x: unknown, garbage: unknown, pick: Pick): unknown {
  if (x === null || typeof x !== 'object' || x instanceof Uint8Array) return garbage
  const copy: Record<string, unknown> | unknown[] = Array.isArray(x) ? [...x] : { ...(x as object) }
  const keys = Object.keys(copy)
  if (keys.length === 0) return garbage
  const how = pick(Array.isArray(copy) ? ['garbage', 'deeper', 'deeper', 'reverse', 'duplicate', 'drop'] : ['garbage', 'deeper', 'deeper'])
  if (Array.isArray(copy)) {
    if (how === 'reverse') return copy.reverse()
    if (how === 'duplicate') { const i = Number(pick(keys)); copy.splice(i, 0, copy[i]); return copy }
    if (how === 'drop') { copy.splice(Number(pick(keys)), 1); return copy }
  }
  const k = pick(keys) as string
  const inner = (copy as Record<string, unknown>)[k]
  ;(copy as Record<string, unknown>)[k] = how === 'garbage' ? garbage : mutate(inner, garbage, pick)
  return copy
}

/** A copy of `x` with one number (a count, a sequence number, a timestamp) set to a boundary value. */
function mutateNumber (x: unknown, pick: Pick): unknown {
  const paths: string[][] = []
  const walk = (v: unknown, path: string[]): void => {
    if (typeof v === 'number') paths.push(path)
    else if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) for (const [k, inner] of Object.entries(v)) walk(inner, [...path, k])
  }
  walk(x, [])
  if (paths.length === 0) return x
  const path = pick(paths) as string[]
  const set = (v: unknown, i: number): unknown => {
    if (i === path.length) return pick(BOUNDARY)
    const copy: Record<string, unknown> = Array.isArray(v) ? [...v] as unknown as Record<string, unknown> : { ...(v as object) }
    copy[path[i]] = set(copy[path[i]], i + 1)
    return copy
  }
  return set(x, 0)
}

/** validate(x), or undefined when it refuses with a ContractError; any other exception breaks `law`. */
function accepted (x: CheckInput, fn: 'validate' | 'validateSummary', input: unknown, law: 'validate-rejects' | 'view-exact'): { value: unknown } | undefined {
  try {
    return { value: x.c[fn](input) }
  } catch (err) {
    if (err instanceof ContractError) return undefined
    throw new LawBroken(law, `${fn} threw ${errorText(err)}, not a ContractError, on ${show(input)}`)
  }
}

export const validateRejects: Check = x => {
  const { c, w, pick, garbage } = x
  const base = pick(w.all)
  // Copies: a contract that keeps or changes what it was given must not change fast-check's values or this run's states.
  for (const input of [structuredClone(garbage), structuredClone(mutate(base, garbage, pick))]) {
    const summary = accepted(x, 'validateSummary', input, 'validate-rejects')
    if (summary !== undefined) {
      try { c.delta(base, summary.value) } catch (err) { throw new LawBroken('validate-rejects', `validateSummary accepted ${show(input)}, on which delta then throws ${errorText(err)}`) }
    }
    const state = accepted(x, 'validate', input, 'validate-rejects')
    if (state === undefined) continue
    const s = state.value
    // Accepted: it must then behave like a state on its own. (Pairs that conflict, say one dot
    // with two contents, are merge-forged's: core/laws/forged.ts.)
    const fail = (what: string): never => { throw new LawBroken('validate-rejects', `validate accepted ${show(input)}, but ${what}`) }
    const empty = c.empty()
    try {
      c.summarize(s); encode(s); c.view(s)
      c.view(c.merge(s, base))
    } catch (err) {
      fail(`it then breaks: ${errorText(err)} (reachable state b=${show(base)})`)
    }
    if (!bytesEqual(c.merge(s, s), s)) fail(`merge(a, a) = ${show(c.merge(s, s))} ≠ a`)
    if (!bytesEqual(c.merge(s, empty), s) || !bytesEqual(c.merge(empty, s), s)) fail('merge(a, empty) ≠ a')
    const own = c.delta(s, c.validateSummary(roundTrip(c.summarize(s))))
    if (own !== undefined) fail(`delta(a, summarize(a)) = ${show(own)}, not nothing`)
    const all = c.delta(s, c.validateSummary(roundTrip(c.summarize(empty))))
    if (!bytesEqual(all === undefined ? empty : c.merge(empty, all), s)) fail(`delta(a, summarize(empty)) = ${show(all)} does not rebuild a`)
  }
}

/** Every number held anywhere in `x`. */
function numbersIn (x: unknown, out = new Set<number>()): Set<number> {
  if (typeof x === 'number') out.add(x)
  else if (x !== null && typeof x === 'object' && !(x instanceof Uint8Array)) for (const inner of Object.values(x)) numbersIn(inner, out)
  return out
}

/**
 * A number in `view` a reader cannot trust: NaN or ±Infinity (not JSON), or an
 * integer beyond ±(2^53 − 1) that `state` does not hold, so the view computed it
 * (a sum, say) and it was rounded. A value stored as given (a register set to
 * 1e300) is shown as it is.
 */
export function inexactNumber (view: unknown, state?: unknown): number | undefined {
  const held = state === undefined ? new Set<number>() : numbersIn(state)
  for (const v of numbersIn(view)) {
    if (!Number.isFinite(v) || (Number.isInteger(v) && Math.abs(v) > MAX && !held.has(v))) return v
  }
  return undefined
}

export const viewExact: Check = x => {
  const { c, w, pick } = x
  const check = (s: unknown, what: string): void => {
    const bad = inexactNumber(c.view(s), s)
    if (bad !== undefined) throw new LawBroken('view-exact', `the view of ${what} holds ${bad}, a number the state does not hold and that JSON cannot carry exactly (integers beyond ±(2^53 − 1) are rounded): view=${show(c.view(s))} state=${show(s)}`)
  }
  check(pick(w.all), 'a reachable state')
  const forged: unknown[] = []
  for (let i = 0; i < 2; i++) {
    const input = roundTrip(mutateNumber(pick(w.all), pick))
    const s = accepted(x, 'validate', input, 'view-exact')
    if (s === undefined) continue
    check(s.value, 'a state validate accepts')
    forged.push(s.value)
  }
  // Merges of accepted states: two entries each within bounds can sum past them.
  const others = [pickState(x), ...forged]
  for (const s of forged) {
    for (const o of others) {
      let joined: unknown
      try { joined = c.merge(s, o) } catch { continue } // validate-rejects reports a merge that throws
      check(joined, `merge(${show(s)}, ${show(o)}) of states validate accepts`)
    }
  }
}
