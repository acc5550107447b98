/**
 * Dots and dot sets: the causal context of delta-state CRDTs (Almeida, Shoker,
 * Baquero). A dot `[replica, seq]` names one event; a DotSet is a set of dots
 * kept canonical as `[replica, ranges][]`, sorted by replica, where `ranges` is
 * a flat list `[lo1, hi1, lo2, hi2, …]` of disjoint, non-adjacent, ascending
 * inclusive ranges with lo ≥ 1. A contiguous history per replica is one range,
 * so a context is as small as a version vector until gaps appear.
 */
import { ContractError } from './errors.ts'
import { short } from './json.ts'

export type Dot = [replica: string, seq: number]
export type DotSet = Array<[replica: string, ranges: number[]]>

/** Replica ids: printable, at most 255 characters (or-map nests them as `replica.n`), never `__proto__`. */
const REPLICA_ID = /^[A-Za-z0-9._:+/=-]{1,255}$/

export function isReplicaId (x: unknown): x is string {
  return typeof x === 'string' && REPLICA_ID.test(x) && x !== '__proto__'
}

function cmpStr (a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0 }

export function compareDots (a: Dot, b: Dot): number {
  return cmpStr(a[0], b[0]) || a[1] - b[1]
}

function rangesOf (ds: DotSet, replica: string): number[] | undefined {
  let lo = 0; let hi = ds.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const c = cmpStr(ds[mid][0], replica)
    if (c === 0) return ds[mid][1]
    if (c < 0) lo = mid + 1; else hi = mid - 1
  }
  return undefined
}

export function hasDot (ds: DotSet, replica: string, seq: number): boolean {
  const r = rangesOf(ds, replica)
  if (r === undefined) return false
  let lo = 0; let hi = (r.length >> 1) - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (seq < r[2 * mid]) hi = mid - 1
    else if (seq > r[2 * mid + 1]) lo = mid + 1
    else return true
  }
  return false
}

/** The highest seq of `replica` in the set, 0 if none. */
export function maxSeq (ds: DotSet, replica: string): number {
  const r = rangesOf(ds, replica)
  return r === undefined || r.length === 0 ? 0 : r[r.length - 1]
}

/** The next fresh dot for `replica`, given everything this state has seen. */
export function nextDot (ds: DotSet, replica: string): Dot {
  return [replica, maxSeq(ds, replica) + 1]
}

/** Builds a canonical DotSet from any dots (any order, duplicates allowed). */
export function dotSetOf (dots: Iterable<Dot>): DotSet {
  const by = new Map<string, number[]>()
  for (const [r, s] of dots) {
    let l = by.get(r)
    if (l === undefined) by.set(r, l = [])
    l.push(s)
  }
  const out: DotSet = []
  for (const r of [...by.keys()].sort(cmpStr)) {
    const seqs = by.get(r)!.sort((a, b) => a - b)
    const ranges: number[] = []
    for (const s of seqs) {
      const n = ranges.length
      if (n > 0 && s <= ranges[n - 1] + 1) ranges[n - 1] = Math.max(ranges[n - 1], s)
      else ranges.push(s, s)
    }
    out.push([r, ranges])
  }
  return out
}

/** Every dot in the set, in canonical order. */
export function * dotsIn (ds: DotSet): Generator<Dot> {
  for (const [r, ranges] of ds) {
    for (let i = 0; i < ranges.length; i += 2) {
      for (let s = ranges[i]; s <= ranges[i + 1]; s++) yield [r, s]
    }
  }
}

/** Merges two canonical range lists with a boolean rule over membership. */
function combineRanges (a: number[], b: number[], keep: (inA: boolean, inB: boolean) => boolean): number[] {
  // Sweep over the boundaries of both lists; each [x, next) segment is uniformly in or out of a and b.
  // Each list's boundaries (lo, hi + 1, lo, hi + 1, …) already ascend strictly: merge them, dropping repeats.
  const xs: number[] = []
  let pa = 0; let pb = 0
  while (pa < a.length || pb < b.length) {
    const x = pa < a.length ? a[pa] + (pa & 1) : Infinity
    const y = pb < b.length ? b[pb] + (pb & 1) : Infinity
    const next = x <= y ? x : y
    if (x === next) pa++
    if (y === next) pb++
    xs.push(next)
  }
  const out: number[] = []
  let ia = 0; let ib = 0
  for (let k = 0; k < xs.length - 1; k++) {
    const x = xs[k]
    while (ia < a.length && a[ia + 1] < x) ia += 2
    while (ib < b.length && b[ib + 1] < x) ib += 2
    const inA = ia < a.length && a[ia] <= x
    const inB = ib < b.length && b[ib] <= x
    if (!keep(inA, inB)) continue
    const hi = xs[k + 1] - 1
    const n = out.length
    if (n > 0 && out[n - 1] + 1 === x) out[n - 1] = hi
    else out.push(x, hi)
  }
  return out
}

function combine (a: DotSet, b: DotSet, keep: (inA: boolean, inB: boolean) => boolean): DotSet {
  const out: DotSet = []
  let i = 0; let j = 0
  while (i < a.length || j < b.length) {
    const c = i >= a.length ? 1 : j >= b.length ? -1 : cmpStr(a[i][0], b[j][0])
    const replica = c <= 0 ? a[i][0] : b[j][0]
    const ra = c <= 0 ? a[i++][1] : []
    const rb = c >= 0 ? b[j++][1] : []
    // A replica on one side only: its ranges are kept whole or dropped whole, no sweep needed.
    const r = rb.length === 0 ? (keep(true, false) ? ra : []) : ra.length === 0 ? (keep(false, true) ? rb : []) : combineRanges(ra, rb, keep)
    if (r.length > 0) out.push([replica, r])
  }
  return out
}

const either = (x: boolean, y: boolean): boolean => x || y

export function union (a: DotSet, b: DotSet): DotSet {
  if (a.length === 0) return b
  if (b.length === 0) return a
  // A delta's few replicas into a state's many: copy the many once, fold each of the few in by binary search.
  if (b.length * 8 < a.length) return unionFew(a, b)
  if (a.length * 8 < b.length) return unionFew(b, a)
  return combine(a, b, either)
}

function unionFew (many: DotSet, few: DotSet): DotSet {
  const out = many.slice()
  for (const [replica, ranges] of few) {
    let lo = 0; let hi = out.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cmpStr(out[mid][0], replica) < 0) lo = mid + 1; else hi = mid
    }
    if (lo < out.length && out[lo][0] === replica) out[lo] = [replica, combineRanges(out[lo][1], ranges, either)]
    else out.splice(lo, 0, [replica, ranges])
  }
  return out
}

const aNotB = (x: boolean, y: boolean): boolean => x && !y

export function difference (a: DotSet, b: DotSet): DotSet {
  if (a.length === 0 || b.length === 0) return a
  // A delta's few replicas against a state's many (isSubset does this on every sync): look each one up.
  if (a.length * 8 < b.length) {
    const out: DotSet = []
    for (const [replica, ranges] of a) {
      const theirs = rangesOf(b, replica)
      const r = theirs === undefined ? ranges : combineRanges(ranges, theirs, aNotB)
      if (r.length > 0) out.push([replica, r])
    }
    return out
  }
  return combine(a, b, aNotB)
}

const both = (x: boolean, y: boolean): boolean => x && y

export function intersection (a: DotSet, b: DotSet): DotSet {
  // Few replicas against many: look each one up (intersection is symmetric, so either side may be the few).
  const [few, many] = a.length <= b.length ? [a, b] : [b, a]
  if (few.length * 8 < many.length) {
    const out: DotSet = []
    for (const [replica, ranges] of few) {
      const theirs = rangesOf(many, replica)
      const r = theirs === undefined ? [] : combineRanges(ranges, theirs, both)
      if (r.length > 0) out.push([replica, r])
    }
    return out
  }
  return combine(a, b, both)
}

export function isSubset (a: DotSet, b: DotSet): boolean {
  return difference(a, b).length === 0
}

/** Number of dots in the set. */
export function dotCount (ds: DotSet): number {
  let n = 0
  for (const [, r] of ds) for (let i = 0; i < r.length; i += 2) n += r[i + 1] - r[i] + 1
  return n
}

/** Parses an untrusted dot, or throws ContractError(code). */
export function validateDot (x: unknown, code: 'invalid_state' | 'invalid_summary' = 'invalid_state'): Dot {
  if (!Array.isArray(x) || x.length !== 2 || !isReplicaId(x[0]) || !Number.isSafeInteger(x[1]) || x[1] < 1) {
    throw new ContractError(code, `not a dot [replica, seq ≥ 1]: ${short(x)}`)
  }
  return [x[0], x[1]]
}

/** Parses an untrusted DotSet and checks it is canonical, or throws ContractError(code). */
export function validateDotSet (x: unknown, code: 'invalid_state' | 'invalid_summary' = 'invalid_state'): DotSet {
  if (!Array.isArray(x)) throw new ContractError(code, `dot set is not an array: ${short(x)}`)
  let prev: string | undefined
  for (const entry of x) {
    if (!Array.isArray(entry) || entry.length !== 2 || !isReplicaId(entry[0]) || !Array.isArray(entry[1])) {
      throw new ContractError(code, `dot set entry is not [replica, ranges]: ${short(entry)}`)
    }
    const [r, ranges] = entry as [string, unknown[]]
    if (prev !== undefined && cmpStr(prev, r) >= 0) throw new ContractError(code, `dot set replicas not sorted and unique at ${r}`)
    prev = r
    if (ranges.length === 0 || ranges.length % 2 !== 0) throw new ContractError(code, `dot set ranges for ${r} must be non-empty pairs`)
    let last = 0
    for (let i = 0; i < ranges.length; i += 2) {
      const lo = ranges[i]; const hi = ranges[i + 1]
      if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || (lo as number) < 1 || (hi as number) < (lo as number)) {
        throw new ContractError(code, `dot set range [${short(lo)}, ${short(hi)}] for ${r} is not 1 ≤ lo ≤ hi`)
      }
      if (i > 0 && (lo as number) <= last + 1) throw new ContractError(code, `dot set ranges for ${r} overlap, touch or are unsorted`)
      last = hi as number
    }
  }
  return x as DotSet
}

