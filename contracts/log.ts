/**
 * log: an append-only log, e.g. a chat room or an audit trail. An entry is
 * `[[wall, counter], replica, seq, value]`: a hybrid logical clock stamp (so a
 * replica whose clock runs behind still appends after what it has seen) and
 * the dot `[replica, seq]`. Entries are ordered by (wall, counter, replica, seq).
 *
 * `withParams({ keepLast: K })` keeps only the K greatest entries. The state
 * then records a floor `f`, the greatest position it ever dropped; merge keeps
 * the entries above both floors, and if more than K remain, drops the lowest
 * and raises the floor to the greatest of them. The result depends only on
 * the union of everything both sides ever saw (the K greatest of it, and the
 * (K+1)-th greatest as floor), which is why merge is a lattice join and a
 * dropped entry never comes back. The context `c` keeps every dot ever seen,
 * dropped or not, so the summary `{c, f}` lets delta skip what the receiver
 * has, has dropped, or would drop at once (anything at or below its floor).
 *
 * Clocks, as for lww-register (contracts/hlc.ts): validity depends on the
 * bytes alone, so an entry stamped far ahead of the receiver's clock is
 * merged like any other (it sorts last until real time catches up), and an
 * append is never refused for the writer's clock. An append stamps after the
 * greatest stamp held, but never with a wall part past now + 60 s: while the
 * log holds entries from further ahead, new entries sort before them (and
 * with keepLast, below a floor that far ahead they are dropped at once).
 * `stampOf` reports the greatest stamp held, for clock-skew estimates.
 */
import { type CausalKind, causalProblem, dotConflicts, preferEntry } from '../core/causal.ts'
import { compareCanonical } from '../core/codec.ts'
import type { Contract } from '../core/contract.ts'
import { type DotSet, difference, dotSetOf, hasDot, isReplicaId, isSubset, nextDot, union, validateDotSet } from '../core/dots.ts'
import { ContractError } from '../core/errors.ts'
import { type JsonObject, type JsonValue, isPlainObject, jsonProblem, short } from '../core/json.ts'
import { valueArg } from './g-set.ts'
import { DEFAULT_MAX_DRIFT_MS, nextStamp } from './hlc.ts'

export type Clock = [wall: number, counter: number]
export type Position = [clock: Clock, replica: string, seq: number]
export type LogEntry = [clock: Clock, replica: string, seq: number, value: JsonValue]
export type LogState = { e: LogEntry[], c: DotSet, f: Position | null }
export type LogSummary = { c: DotSet, f: Position | null }

type Code = 'invalid_state' | 'invalid_summary'

function cmpStr (a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0 }

function comparePositions (a: Position | LogEntry, b: Position | LogEntry): number {
  return a[0][0] - b[0][0] || a[0][1] - b[0][1] || cmpStr(a[1], b[1]) || a[2] - b[2]
}

/** Equal positions with different values only come from forged data (a position holds a dot); the value breaks the tie so merge stays a join. */
function compareEntries (a: LogEntry, b: LogEntry): number {
  return comparePositions(a, b) || compareCanonical(a[3], b[3])
}

const entryKind: CausalKind<LogEntry> = { dotOf: e => [e[1], e[2]], compare: compareEntries, exact: true }

function isCount (x: unknown): x is number { return Number.isSafeInteger(x) && (x as number) >= 0 }

function validatePosition (x: unknown, code: Code): Position {
  if (!Array.isArray(x) || x.length < 3) throw new ContractError(code, `log position must be [[wall, counter], replica, seq], got ${short(x)}`)
  const [clock, replica, seq] = x
  if (!Array.isArray(clock) || clock.length !== 2 || !isCount(clock[0]) || !isCount(clock[1])) {
    throw new ContractError(code, `log clock must be [wall, counter] of safe integers ≥ 0, got ${short(clock)}`)
  }
  if (!isReplicaId(replica)) throw new ContractError(code, `log replica ${short(replica)} is not a replica id`)
  if (!Number.isSafeInteger(seq) || seq < 1) throw new ContractError(code, `log seq must be a safe integer ≥ 1, got ${short(seq)}`)
  return [[clock[0], clock[1]], replica, seq]
}

function validateFloor (x: unknown, keep: number, code: Code): Position | null {
  if (x === null) return null
  if (keep === Infinity) throw new ContractError(code, `an unbounded log has no floor, got ${short(x)}`)
  if (!Array.isArray(x) || x.length !== 3) throw new ContractError(code, `log floor must be null or [[wall, counter], replica, seq], got ${short(x)}`)
  return validatePosition(x, code)
}

function hasKeys (x: unknown, keys: string): x is Record<string, unknown> {
  // A plain object first: Object.keys of a byte string lists every index (a 900 KB one took 350 ms).
  return isPlainObject(x) && Object.keys(x).sort().join() === keys
}

function validateState (x: unknown, keep: number): LogState {
  if (!hasKeys(x, 'c,e,f')) throw new ContractError('invalid_state', `log state must be an object {e, c, f}, got ${short(x)}`)
  const c = validateDotSet(x.c)
  const f = validateFloor(x.f, keep, 'invalid_state')
  if (!Array.isArray(x.e)) throw new ContractError('invalid_state', `log entries must be an array, got ${short(x.e)}`)
  if (x.e.length > keep) throw new ContractError('invalid_state', `log keeps the last ${keep} entries but the state has ${x.e.length}`)
  const e = x.e.map((entry: unknown): LogEntry => {
    if (!Array.isArray(entry) || entry.length !== 4) throw new ContractError('invalid_state', `log entry must be [[wall, counter], replica, seq, value], got ${short(entry)}`)
    const problem = jsonProblem(entry[3])
    if (problem !== undefined) throw new ContractError('invalid_state', `log entry value is not JSON: ${problem}`)
    return [...validatePosition(entry, 'invalid_state'), entry[3] as JsonValue]
  })
  const problem = causalProblem(entryKind, { e, c })
  if (problem !== undefined) throw new ContractError('invalid_state', `log state: ${problem}`)
  if (f !== null && e.length > 0 && comparePositions(e[0], f) <= 0) throw new ContractError('invalid_state', 'log entry at or below the floor')
  return { e, c, f }
}

function validateSummary (x: unknown, keep: number): LogSummary {
  if (!hasKeys(x, 'c,f')) throw new ContractError('invalid_summary', `log summary must be an object {c, f}, got ${short(x)}`)
  return { c: validateDotSet(x.c, 'invalid_summary'), f: validateFloor(x.f, keep, 'invalid_summary') }
}

function higherFloor (a: Position | null, b: Position | null): Position | null {
  return a === null ? b : b === null || comparePositions(a, b) >= 0 ? a : b
}

/**
 * Two entries under one dot with other stamps or values (forged, or a replica
 * that reused a dot) would make a state validate refuses; the kernel's rule
 * (core/causal.ts preferEntry) keeps the greater. The greater, because merge
 * drops low entries: were the lower kept, an entry dropped on one path (below
 * a floor) could be replaced by its higher twin on another, and merge would
 * depend on grouping. Returns the entries to leave out.
 */
function conflictLosers (a: LogState, b: LogState): Set<LogEntry> | undefined {
  const conflicts = dotConflicts(entryKind, a, b)
  if (conflicts.length === 0) return undefined
  return new Set(conflicts.map(([x, y]) => (preferEntry(entryKind, x, y) === x ? y : x)))
}

function merge (a: LogState, b: LogState, keep: number): LogState {
  if (a.c.length === 0 && a.e.length === 0 && a.f === null) return b
  if (b.c.length === 0 && b.e.length === 0 && b.f === null) return a
  const floor = higherFloor(a.f, b.f)
  const losers = conflictLosers(a, b)
  const kept = (x: LogEntry): boolean => (floor === null || comparePositions(x, floor) > 0) && losers?.has(x) !== true
  const all: LogEntry[] = []
  let i = 0; let j = 0
  while (i < a.e.length || j < b.e.length) {
    const order = i >= a.e.length ? 1 : j >= b.e.length ? -1 : compareEntries(a.e[i], b.e[j])
    const x = order <= 0 ? a.e[i++] : b.e[j++]
    if (order === 0) j++ // the same entry on both sides
    if (kept(x)) all.push(x)
  }
  const cut = Math.max(0, all.length - keep)
  const dropped = cut > 0 ? all[cut - 1] : undefined
  return { e: all.slice(cut), c: union(a.c, b.c), f: dropped === undefined ? floor : [dropped[0], dropped[1], dropped[2]] }
}

function keepLastParam (params: JsonObject): number {
  const keys = Object.keys(params)
  const k = params.keepLast
  if (keys.length !== 1 || keys[0] !== 'keepLast' || !Number.isSafeInteger(k) || (k as number) < 1) {
    throw new ContractError('bad_args', `log takes one parameter, keepLast: a safe integer ≥ 1; got ${short(params)}`)
  }
  return k as number
}

function createLog (keepLast?: number): Contract<LogState, LogSummary> {
  const keep = keepLast ?? Infinity
  return {
    id: 'log',
    ...(keepLast === undefined ? {} : { params: { keepLast } }),
    empty: () => ({ e: [], c: [], f: null }),
    merge: (a, b) => merge(a, b, keep),
    summarize: s => ({ c: s.c, f: s.f }),
    delta (s, theirs) {
      if (isSubset(s.c, theirs.c)) return undefined
      const wanted = (x: LogEntry): boolean => !hasDot(theirs.c, x[1], x[2]) && (theirs.f === null || comparePositions(x, theirs.f) > 0)
      const f = s.f !== null && (theirs.f === null || comparePositions(s.f, theirs.f) > 0) ? s.f : null
      return { e: s.e.filter(wanted), c: difference(s.c, theirs.c), f }
    },
    validate: x => validateState(x, keep),
    validateSummary: x => validateSummary(x, keep),
    ops: {
      append (s, args, ctx) {
        const value = valueArg(args, 'append')
        // Hybrid logical clock: after the greatest stamp held (the last entry, or the floor when all were dropped),
        // but never past now + 60 s (contracts/hlc.ts).
        const last = s.e.length > 0 ? s.e[s.e.length - 1] : s.f
        const clock = nextStamp(last === null ? null : last[0], ctx.now, DEFAULT_MAX_DRIFT_MS, 'append')
        const dot = nextDot(s.c, ctx.replica)
        return { e: [[clock, dot[0], dot[1], value]], c: dotSetOf([dot]), f: null }
      }
    },
    view: s => s.e.map(([clock, replica, , value]) => ({ at: clock[0], replica, value })),
    // Entries' writers; the floor `f` names a dropped position, not an event of this state.
    replicasOf: s => s.e.map(x => x[1]),
    // Entries sort by stamp above the floor: the last entry's is the greatest, else the floor's.
    stampOf: s => (s.e.length > 0 ? s.e[s.e.length - 1][0][0] : s.f?.[0][0]),
    withParams: params => createLog(keepLastParam(params))
  }
}

/** The unbounded log; `log.withParams({ keepLast: K })` keeps only the K newest entries. */
export const log = createLog()
