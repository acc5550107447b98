/**
 * The causal kernel shared by observed-remove contracts: a state is entries,
 * each tagged with the dot of the event that made it, plus the causal context
 * of every dot seen. An entry whose dot the context covers but that is absent
 * has been removed; no tombstone is kept.
 *
 * The context alone does not tell states apart: a replica can learn an
 * event's dot without the removals that event made (an op delta's context
 * names the dots it overwrote, and those may themselves be overwrite events
 * the replica never received). So the summary of a state that removes is
 * `{c, a}`: its context and its live dots. Equal summaries then mean equal
 * states (a dot names one entry), and a delta names exactly the entries the
 * other side still holds that this side knows are gone.
 *
 * A dot names one entry only among honest peers. A forged state (or a replica
 * that reused a dot) can hold other content under a dot another state holds:
 * each is valid alone, and merge must still be a join whose result is valid.
 * So two entries under one dot resolve to the one `preferEntry` picks, the
 * same whichever side it came from (dotConflicts, used by log too). Summaries
 * are dot sets, so two peers holding different content under one dot have
 * equal summaries and summary/delta sync never tells them apart: they stay
 * different until one of them merges the other's state. Merge only promises
 * never to depend on order and never to produce an invalid state; signed
 * writes (the security issue) are what stops a dot being forged at all.
 */
import { type Dot, type DotSet, compareDots, difference, dotCount, dotSetOf, dotsIn, hasDot, intersection, isSubset, union, validateDotSet } from './dots.ts'
import { compareCanonical } from './codec.ts'
import { ContractError } from './errors.ts'
import { isPlainObject } from './json.ts'

export interface Causal<E> {
  /** Entries, sorted by the kind's `compare`, each with a distinct dot. */
  e: E[]
  /** Causal context: every dot this state has seen, alive or removed. */
  c: DotSet
}

export interface CausalKind<E> {
  dotOf (e: E): Dot
  /** Total order used to keep entries canonical; entries that compare 0 have the same dot. */
  compare (a: E, b: E): number
  /** True if compare looks at every part of an entry (0 only for equal entries); else entries comparing 0 are also compared by bytes. */
  readonly exact?: boolean
}

function dotKey (d: Dot): string { return d[0] + '\u0000' + d[1] }

/**
 * Join: keep what both have, plus what each has that the other has not seen.
 * Written so that merging a small delta into a large state costs little more
 * than the delta: an entry of `a` is dropped only if its dot is among the dots
 * `b` has seen but no longer holds (usually none), and since every entry's dot
 * is in its own context (causalProblem), an entry of `b` is new to `a` exactly
 * when `a.c` lacks its dot. Where both hold other content under one dot
 * (forged data only), the entry preferEntry picks is kept, from either side.
 */
export function joinCausal<E> (kind: CausalKind<E>, a: Causal<E>, b: Causal<E>): Causal<E> {
  if (a.c.length === 0 && a.e.length === 0) return b
  if (b.c.length === 0 && b.e.length === 0) return a
  let keepA = dropRemoved(kind, a.e, b)
  const keepB = b.e.filter(x => { const d = kind.dotOf(x); return !hasDot(a.c, d[0], d[1]) })
  const conflicts = dotConflicts(kind, a, b)
  if (conflicts.length > 0) {
    const losers = new Set<E>()
    for (const [x, y] of conflicts) {
      if (preferEntry(kind, x, y) === x) losers.add(y)
      else { losers.add(x); keepB.push(y) }
    }
    keepA = keepA.filter(x => !losers.has(x))
    keepB.sort(kind.compare)
  }
  return { e: mergeSorted(kind.compare, keepA, keepB), c: union(a.c, b.c) }
}

/**
 * Of two different entries under one dot (only forged data, or a replica that
 * reused a dot, makes them), the one to keep: the greater in the kind's order,
 * then by canonical bytes (a kind's order need not look at all of an entry).
 * The greater, not the smaller: log drops its lowest entries, and keeping the
 * greater is what keeps its merge associative (contracts/log.ts).
 */
export function preferEntry<E> (kind: CausalKind<E>, x: E, y: E): E {
  const order = kind.compare(x, y) || compareCanonical(x, y)
  return order >= 0 ? x : y
}

/**
 * The pairs `[entry of a, entry of b]` that hold one dot with different
 * content; usually none. Costs about what the join does: an entry of the
 * smaller side is looked up in the other's sorted entries (binary search for
 * a few, one walk for many), and only an entry whose dot the other side has
 * seen but does not hold as it is (removed there, or held with other content)
 * sends us through the other side's dots.
 */
export function dotConflicts<E> (kind: CausalKind<E>, a: Causal<E>, b: Causal<E>): Array<[E, E]> {
  const aSmaller = a.e.length <= b.e.length
  const [few, many] = aSmaller ? [a, b] : [b, a]
  const out: Array<[E, E]> = []
  const pair = (x: E, y: E): void => { out.push(aSmaller ? [x, y] : [y, x]) }
  const unmatched = new Map<string, E>()
  // y is many's entry comparing 0 with x (the same dot), if any.
  const visit = (x: E, y: E | undefined): void => {
    const d = kind.dotOf(x)
    if (y !== undefined && compareDots(kind.dotOf(y), d) === 0) {
      if (y !== x && kind.exact !== true && compareCanonical(x, y) !== 0) pair(x, y)
    } else if (hasDot(many.c, d[0], d[1])) {
      unmatched.set(dotKey(d), x)
    }
  }
  if (few.e.length * 16 < many.e.length) {
    for (const x of few.e) {
      const d = kind.dotOf(x)
      // A dot many has not seen is new to it: no entry of many holds it (each entry's dot is in its context).
      if (hasDot(many.c, d[0], d[1])) visit(x, findSorted(kind.compare, many.e, x))
    }
  } else {
    let j = 0
    for (const x of few.e) {
      let match: E | undefined
      while (j < many.e.length) {
        const y = many.e[j]
        const order = y === x ? 0 : kind.compare(y, x)
        if (order < 0) { j++; continue }
        if (order === 0) { match = y; j++ }
        break
      }
      visit(x, match)
    }
  }
  if (unmatched.size === 0) return out
  const seqs = new Set<number>()
  for (const x of unmatched.values()) seqs.add(kind.dotOf(x)[1])
  for (const y of many.e) {
    const d = kind.dotOf(y)
    if (!seqs.has(d[1])) continue
    const x = unmatched.get(dotKey(d))
    if (x !== undefined) pair(x, y)
  }
  return out
}

/** The entry of sorted `entries` that compares 0 with `x`, if any. */
function findSorted<E> (compare: (a: E, b: E) => number, entries: readonly E[], x: E): E | undefined {
  let lo = 0; let hi = entries.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (compare(entries[mid], x) < 0) lo = mid + 1; else hi = mid
  }
  return lo < entries.length && compare(entries[lo], x) === 0 ? entries[lo] : undefined
}

/** The entries whose dot `other` has not seen as removed, i.e. is not in other.c minus other's live dots. */
function dropRemoved<E> (kind: CausalKind<E>, entries: E[], other: Causal<E>): E[] {
  const removed = difference(other.c, dotSetOf(other.e.map(kind.dotOf)))
  if (removed.length === 0) return entries
  // A remove delta names a few dots: test each entry's seq against a number set before the full lookup.
  const seqs = dotCount(removed) <= 1024 ? new Set(Array.from(dotsIn(removed), d => d[1])) : undefined
  const gone = (x: E): boolean => {
    const d = kind.dotOf(x)
    return (seqs === undefined || seqs.has(d[1])) && hasDot(removed, d[0], d[1])
  }
  const first = entries.findIndex(gone)
  if (first < 0) return entries
  const out = entries.slice(0, first)
  for (let i = first + 1; i < entries.length; i++) if (!gone(entries[i])) out.push(entries[i])
  return out
}

/**
 * What the holder of `theirs` lacks from `a`: the entries they have not seen,
 * the dots they have not seen, and the entries they still hold that `a` knows
 * are removed. Undefined when they lack nothing.
 */
export function deltaCausal<E> (kind: CausalKind<E>, a: Causal<E>, theirs: CausalSummary): Causal<E> | undefined {
  const alive = dotSetOf(a.e.map(kind.dotOf))
  const removed = intersection(difference(a.c, alive), theirs.a)
  if (removed.length === 0 && isSubset(a.c, theirs.c)) return undefined
  const fresh = a.e.filter(x => { const d = kind.dotOf(x); return !hasDot(theirs.c, d[0], d[1]) })
  return { e: fresh, c: union(difference(a.c, theirs.c), removed) }
}

/** The summary of a causal state: its context and its live dots. */
export type CausalSummary = { c: DotSet, a: DotSet }

export function summarizeCausal<E> (kind: CausalKind<E>, s: Causal<E>): CausalSummary {
  return { c: s.c, a: dotSetOf(s.e.map(kind.dotOf)) }
}

/** Parses an untrusted causal summary, or throws ContractError('invalid_summary'). */
export function validateCausalSummary (x: unknown): CausalSummary {
  if (!isPlainObject(x) || Object.keys(x).sort().join() !== 'a,c') throw new ContractError('invalid_summary', 'causal summary must be an object {c, a}')
  const c = validateDotSet(x.c, 'invalid_summary')
  const a = validateDotSet(x.a, 'invalid_summary')
  if (!isSubset(a, c)) throw new ContractError('invalid_summary', 'causal summary lists live dots outside its context')
  return { c, a }
}

/** Checks that every entry's dot is in the context and no dot is used twice; returns a problem or undefined. */
export function causalProblem<E> (kind: CausalKind<E>, s: Causal<E>): string | undefined {
  const seen = new Set<string>()
  for (let i = 0; i < s.e.length; i++) {
    const d = kind.dotOf(s.e[i])
    const k = dotKey(d)
    if (seen.has(k)) return `dot ${d[0]}:${d[1]} is used by two entries`
    seen.add(k)
    if (!hasDot(s.c, d[0], d[1])) return `entry dot ${d[0]}:${d[1]} is not in the causal context`
    if (i > 0 && kind.compare(s.e[i - 1], s.e[i]) >= 0) return 'entries are not in canonical order'
  }
  return undefined
}

function mergeSorted<E> (compare: (a: E, b: E) => number, a: E[], b: E[]): E[] {
  if (b.length === 0) return a
  if (a.length === 0) return b
  // A few entries into many: binary-search each one's place instead of comparing against every entry.
  if (b.length * 16 < a.length) return insertSorted(compare, a, b)
  if (a.length * 16 < b.length) return insertSorted(compare, b, a)
  const out: E[] = []
  let i = 0; let j = 0
  while (i < a.length && j < b.length) out.push(compare(a[i], b[j]) <= 0 ? a[i++] : b[j++])
  while (i < a.length) out.push(a[i++])
  while (j < b.length) out.push(b[j++])
  return out
}

/** Merges sorted `few` into sorted `many` (no entry is in both): copy once, then splice each in from the back. */
function insertSorted<E> (compare: (a: E, b: E) => number, many: E[], few: E[]): E[] {
  const at: number[] = []
  let from = 0
  for (const x of few) {
    let lo = from; let hi = many.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (compare(many[mid], x) < 0) lo = mid + 1; else hi = mid
    }
    at.push(lo)
    from = lo
  }
  const out = many.slice()
  for (let i = few.length - 1; i >= 0; i--) out.splice(at[i], 0, few[i])
  return out
}
