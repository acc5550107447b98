/**
 * or-map: named fields, each holding the state of another registered
 * contract; add-wins on a field's presence. On the causal kernel, an entry is
 * `[field, contractId, dot, nestedState]`. Writing a field makes one fresh
 * entry holding the join of the field's entries this replica has seen, with
 * the op applied, and retires those entries; so a field holds one entry per
 * concurrent writer and its value is the join of theirs. Removing a field
 * retires the entries seen (and takes a fresh dot), so a write concurrent
 * with the remove survives it, carrying the whole value its writer saw.
 *
 * Concurrent writers may put different contracts in one field; the view then
 * shows the contract whose id is smallest in string order, and further writes
 * to that field are refused (contract_mismatch) until it is removed.
 *
 * Nested identities: a nested contract numbers its events per replica (dots,
 * counts), and after a field is removed and re-created those numbers would
 * start over while a write that raced the removal still carries the old ones;
 * the two would collide and one write would be lost. So nested ops run as
 * replica `<replica>.<n>`, where n is the map seq of the write that began this
 * writer's current run on the field, and each entry lists its writers as
 * `[replica, n, lastSeq]`. A writer continues its run only when the field's
 * live value provably holds all of it: its own latest entry is still alive, or
 * an alive entry includes its write `lastSeq` and it has made no map event
 * since. Otherwise it starts a new run (one more small nested replica entry).
 *
 * Fields name their contract by bare id, so a field holds only unversioned
 * contracts: two codes under one id could not be told apart inside the map.
 * A versioned contract is refused as a field (apply), and a field naming an
 * id this peer has only in a version is one of a contract it lacks. A state
 * with a field of a contract this peer lacks cannot be judged here: validate
 * and view throw ContractError('unknown_contract') naming that contract (never
 * 'invalid_state', which would say every peer must refuse it).
 */
import { type CausalKind, causalProblem, deltaCausal, joinCausal, type CausalSummary, summarizeCausal, validateCausalSummary } from '../core/causal.ts'
import type { Plain } from '../core/codec.ts'
import type { AnyContract, Contract } from '../core/contract.ts'
import { type Dot, type DotSet, compareDots, dotSetOf, isReplicaId, maxSeq, nextDot, validateDot, validateDotSet } from '../core/dots.ts'
import { ContractError } from '../core/errors.ts'
import { type JsonObject, isPlainObject, jsonProblem, short } from '../core/json.ts'

/** Who wrote the nested value: `[replica, runSeq, lastSeq]`, sorted by replica. */
export type Writer = [replica: string, runSeq: number, lastSeq: number]
export type MapEntry = [field: string, contractId: string, dot: Dot, nested: Plain, writers: Writer[]]
export type OrMapState = { e: MapEntry[], c: DotSet }

function cmpStr (a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0 }

const entryKind: CausalKind<MapEntry> = {
  dotOf: e => e[2],
  compare: (a, b) => cmpStr(a[0], b[0]) || cmpStr(a[1], b[1]) || compareDots(a[2], b[2])
}

const MAX_FIELD_BYTES = 1024
/** A nested state sits three levels deep in the map state; this bound keeps the whole state decodable (64 levels). */
const MAX_NESTED_DEPTH = 60

function fieldProblem (x: unknown): string | undefined {
  if (typeof x !== 'string' || x.length === 0) return `field must be a non-empty string, got ${short(x)}`
  if (x === '__proto__') return 'field "__proto__" is not allowed'
  // As for JSON values (core/json.ts): a lone surrogate has no UTF-8 form, so no peer could store or read it back.
  if (!x.isWellFormed()) return `field ${short(x)} has a lone surrogate (not valid Unicode)`
  if (Buffer.byteLength(x, 'utf8') > MAX_FIELD_BYTES) return `field ${short(x)} is longer than ${MAX_FIELD_BYTES} UTF-8 bytes`
  return undefined
}

function fieldArg (x: unknown, op: string): string {
  const problem = fieldProblem(x)
  if (problem !== undefined) throw new ContractError('bad_args', `${op}: ${problem}`)
  return x as string
}

/** Nesting depth of plain data (a scalar is 0), counting no further than `limit` + 1. */
function depthOf (x: unknown, limit: number): number {
  if (x === null || typeof x !== 'object' || x instanceof Uint8Array) return 0
  if (limit < 0) return 1
  let deepest = 0
  for (const v of Object.values(x)) deepest = Math.max(deepest, depthOf(v, limit - 1))
  return 1 + deepest
}

/** The entries of `field`: a contiguous run, since entries sort by field first. */
function fieldEntries (e: readonly MapEntry[], field: string): MapEntry[] {
  let lo = 0; let hi = e.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (e[mid][0] < field) lo = mid + 1; else hi = mid
  }
  let end = lo
  while (end < e.length && e[end][0] === field) end++
  return e.slice(lo, end)
}

function joinNested (nested: AnyContract, entries: readonly MapEntry[]): Plain {
  return entries.reduce((acc: Plain, x) => nested.merge(acc, x[3]), nested.empty())
}

/** The writers of the field's live value: per replica, the run holding its latest write. */
function joinWriters (entries: readonly MapEntry[]): Map<string, Writer> {
  const out = new Map<string, Writer>()
  for (const x of entries) {
    for (const w of x[4]) {
      const seen = out.get(w[0])
      if (seen === undefined || w[2] > seen[2]) out.set(w[0], w)
    }
  }
  return out
}

/** The run a write by `replica` with map dot `dot` belongs to (see the header). */
function runFor (entries: readonly MapEntry[], writers: Map<string, Writer>, c: DotSet, replica: string, dot: Dot): number {
  const own = writers.get(replica)
  if (own === undefined) return dot[1]
  const ownEntryAlive = entries.some(x => x[2][0] === replica)
  return ownEntryAlive || own[2] === maxSeq(c, replica) ? own[1] : dot[1]
}

function validateWriters (x: unknown, dot: Dot): Writer[] {
  if (!Array.isArray(x) || x.length === 0) throw new ContractError('invalid_state', `or-map writers must be a non-empty array, got ${short(x)}`)
  let prev = ''
  let hasOwn = false
  for (const w of x) {
    if (!Array.isArray(w) || w.length !== 3 || !isReplicaId(w[0]) || !Number.isSafeInteger(w[1]) || !Number.isSafeInteger(w[2]) || w[1] < 1 || w[2] < w[1]) {
      throw new ContractError('invalid_state', `or-map writer must be [replica, runSeq, lastSeq ≥ runSeq ≥ 1], got ${short(w)}`)
    }
    if (w[0] <= prev) throw new ContractError('invalid_state', 'or-map writers are not sorted by replica')
    prev = w[0]
    if (w[0] === dot[0]) {
      if (w[2] !== dot[1]) throw new ContractError('invalid_state', `or-map writer ${w[0]} does not end at the entry's dot`)
      hasOwn = true
    }
  }
  if (!hasOwn) throw new ContractError('invalid_state', `or-map entry's writers do not include its author ${dot[0]}`)
  return x as Writer[]
}

/** An or-map whose fields may hold any contract `lookup` knows. */
export function createOrMap (lookupAny: (id: string) => AnyContract | undefined): Contract<OrMapState, CausalSummary> {
  /** The unversioned contract `id`, the only kind a field holds (see the header). */
  function lookup (id: string): AnyContract | undefined {
    const c = lookupAny(id)
    return c?.version === undefined ? c : undefined
  }

  function lacking (field: unknown, id: unknown): ContractError {
    const versioned = typeof id === 'string' ? lookupAny(id)?.version : undefined
    const here = versioned === undefined ? '' : ` (this peer has only its version "${versioned}", which or-map fields cannot hold)`
    return new ContractError('unknown_contract', `or-map field ${short(field)} holds contract ${short(id)}, which this peer lacks${here}`,
      typeof id === 'string' ? { contract: id } : {})
  }

  function validateEntry (entry: unknown): MapEntry {
    if (!Array.isArray(entry) || entry.length !== 5) throw new ContractError('invalid_state', `or-map entry must be [field, contractId, dot, state, writers], got ${short(entry)}`)
    const [field, id, dotValue, state, writers] = entry
    const problem = fieldProblem(field)
    if (problem !== undefined) throw new ContractError('invalid_state', `or-map ${problem}`)
    if (typeof id !== 'string') throw new ContractError('invalid_state', `or-map field ${short(field)}: contract id must be a string, got ${short(id)}`)
    const nested = lookup(id)
    if (nested === undefined) throw lacking(field, id)
    try {
      const dot = validateDot(dotValue)
      return [field, id, dot, nested.validate(state), validateWriters(writers, dot)]
    } catch (err) {
      if (!(err instanceof ContractError)) throw err
      // A field of a nested or-map holding a contract this peer lacks: still "cannot judge", not invalid.
      if (err.code === 'unknown_contract') throw new ContractError('unknown_contract', `or-map field ${short(field)} (${id}): ${err.message}`, { cause: err, contract: err.contract ?? id })
      throw new ContractError('invalid_state', `or-map field ${short(field)} (${id}): ${err.message}`, { cause: err })
    }
  }

  return {
    id: 'or-map',
    empty: () => ({ e: [], c: [] }),
    merge: (a, b) => joinCausal(entryKind, a, b),
    summarize: s => summarizeCausal(entryKind, s),
    delta: (s, theirs) => deltaCausal(entryKind, s, theirs),
    validate (x) {
      // A plain object first: Object.keys of a byte string lists every index (a 900 KB one took 500 ms).
      if (!isPlainObject(x) || Object.keys(x).sort().join() !== 'c,e') {
        throw new ContractError('invalid_state', `or-map state must be an object {e, c}, got ${short(x)}`)
      }
      const { e, c } = x as { e: unknown, c: unknown }
      const context = validateDotSet(c)
      if (!Array.isArray(e)) throw new ContractError('invalid_state', `or-map entries must be an array, got ${short(e)}`)
      const s = { e: e.map(validateEntry), c: context }
      const problem = causalProblem(entryKind, s)
      if (problem !== undefined) throw new ContractError('invalid_state', `or-map state: ${problem}`)
      return s
    },
    validateSummary: validateCausalSummary,
    ops: {
      apply (s, args, ctx) {
        if (args.length !== 4) throw new ContractError('bad_args', `apply(field, contractId, op, args) takes four arguments, got ${args.length}`)
        const [fieldValue, id, op, opArgs] = args
        const field = fieldArg(fieldValue, 'apply')
        if (typeof id !== 'string') throw new ContractError('bad_args', `apply: contract id must be a string, got ${short(id)}`)
        if (typeof op !== 'string') throw new ContractError('bad_args', `apply: op must be a string, got ${short(op)}`)
        if (!Array.isArray(opArgs)) throw new ContractError('bad_args', `apply: args must be an array, got ${short(opArgs)}`)
        const problem = jsonProblem(opArgs)
        if (problem !== undefined) throw new ContractError('bad_args', `apply: args are not JSON: ${problem}`)
        const nested = lookupAny(id)
        if (nested === undefined) throw new ContractError('unknown_contract', `apply: unknown contract ${short(id)}`)
        if (nested.version !== undefined) {
          throw new ContractError('bad_args', `apply: contract ${short(id)} has a version ("${nested.version}"); or-map fields hold only unversioned contracts, since a field names its contract by id alone`)
        }
        const entries = fieldEntries(s.e, field)
        const other = entries.find(x => x[1] !== id)
        if (other !== undefined) throw new ContractError('contract_mismatch', `field ${short(field)} holds a ${other[1]}, not a ${id}; remove it first`)
        if (!Object.hasOwn(nested.ops, op)) throw new ContractError('unknown_op', `contract ${id} has no op ${short(op)}`)
        if (ctx.ownEvents === true && nested.replicasOf === undefined) throw new ContractError('bad_args', `apply: contract ${short(id)} does not list its events' replica ids (replicasOf), so an owned key cannot check who wrote them; it cannot be a field of an owned or-map`)
        const current = joinNested(nested, entries)
        const dot = nextDot(s.c, ctx.replica)
        // Own events only (an owned key): the new entry holds this writer's entries of the field and its delta,
        // and retires only those; the other writers' entries stay, and the view joins them all.
        const base = ctx.ownEvents === true ? entries.filter(x => x[2][0] === ctx.replica) : entries
        const writers = joinWriters(base)
        const run = ctx.ownEvents === true ? (base.length > 0 ? writers.get(ctx.replica)![1] : dot[1]) : runFor(entries, writers, s.c, ctx.replica, dot)
        const d = nested.ops[op](current, opArgs, { replica: `${ctx.replica}.${run}`, now: ctx.now, ...ctx.ownEvents === true ? { ownEvents: true } : {} })
        if (d === undefined) return undefined
        const value = nested.merge(ctx.ownEvents === true ? joinNested(nested, base) : current, d)
        if (depthOf(value, MAX_NESTED_DEPTH) > MAX_NESTED_DEPTH) {
          throw new ContractError('bad_args', `apply: the value of field ${short(field)} would nest deeper than ${MAX_NESTED_DEPTH} levels`)
        }
        writers.set(ctx.replica, [ctx.replica, run, dot[1]])
        const list = [...writers.values()].sort((a, b) => cmpStr(a[0], b[0]))
        return { e: [[field, id, dot, value, list]], c: dotSetOf([...base.map(x => x[2]), dot]) }
      },
      remove (s, args, ctx) {
        if (args.length !== 1) throw new ContractError('bad_args', `remove(field) takes one argument, got ${args.length}`)
        const entries = fieldEntries(s.e, fieldArg(args[0], 'remove'))
        if (entries.length === 0) return undefined
        return { e: [], c: dotSetOf([...entries.map(x => x[2]), nextDot(s.c, ctx.replica)]) }
      }
    },
    // The greatest stamp any field's nested state carries (lww-register and log fields have them).
    stampOf (s) {
      let greatest: number | undefined
      for (const x of s.e) {
        const t = lookup(x[1])?.stampOf?.(x[3])
        if (t !== undefined && (greatest === undefined || t > greatest)) greatest = t
      }
      return greatest
    },
    // Every event the state records: the entries' dots, their writers, and (through the nested contract's
    // replicasOf) the nested values' events, so an owned key checks them all. A plain map's field value joins what
    // its writer saw, so it lists others' ids too; an owned key's op (ownEvents) writes only its own.
    * replicasOf (s) {
      for (const x of s.e) {
        yield x[2][0]
        for (const w of x[4]) yield w[0]
        const nested = lookup(x[1])
        if (nested === undefined) throw lacking(x[0], x[1])
        // A nested contract that cannot list its events: '' (never a writer's id), so an owned key refuses it.
        if (nested.replicasOf === undefined) yield ''; else yield * nested.replicasOf(x[3])
      }
    },
    view (s) {
      const out: JsonObject = {}
      for (let i = 0; i < s.e.length;) {
        const [field, id] = s.e[i]
        let end = i
        while (end < s.e.length && s.e[end][0] === field) end++
        // Sorted by contract id within a field, so the first id is the smallest.
        const nested = lookup(id)
        if (nested === undefined) throw lacking(field, id)
        out[field] = nested.view(joinNested(nested, s.e.slice(i, end).filter(x => x[1] === id)))
        i = end
      }
      return out
    }
  }
}
