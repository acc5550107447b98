/**
 * The salted fallback of a session (PROTOCOL.md §6.5). Range fingerprints are
 * XORs of item hashes: cheap to combine, and linear, so a writer of many keys
 * can build two different key sets whose every range fingerprint is equal
 * (Gaussian elimination over GF(2) on a few hundred item hashes). Digests
 * (lthash.ts) still tell the two peers apart, but narrowing down by ranges
 * finds nothing. When that happens (digest-doubt.ts), one side sends its whole
 * key space as lists of keys with *salted* item hashes: the first 8 bytes of
 * sha256(salt || item hash), with a fresh random salt per session, so no set
 * built in advance can hide a difference. The other side walks the lists
 * beside its own keys like an item list (reconcile.ts) and answers what differs.
 */
import { createHash, randomBytes } from 'node:crypto'
import { type KeyIndex, sameHash } from './key-index.ts'
import { MAX_RANGE_ITEMS, type RangeItems, SALT_BYTES, SALTED_HASH_BYTES } from './messages.ts'
import { Plan } from './reconcile.ts'
/** The salted list's framing besides its keys and hashes: bounds, list headers (an upper bound). */
const LIST_OVERHEAD = 16
/** The message's framing besides its lists: version, type, session, seq, salt, list header (an upper bound). */
export const SALTED_MESSAGE_OVERHEAD = 48
/**
 * Keys one salted session lists (four messages of MAX_SALTED_KEYS): hashing them costs the sender a few
 * milliseconds, and a larger key space is covered by the next sessions, each resuming where the last stopped.
 */
export const SALTED_SESSION_KEYS = 16 * 1024

/** The first SALTED_HASH_BYTES of sha256(salt || item hash). */
export function saltedHash (salt: Uint8Array, item: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(salt).update(item).digest().subarray(0, SALTED_HASH_BYTES))
}

export function newSalt (): Uint8Array {
  return new Uint8Array(randomBytes(SALT_BYTES))
}

/** A key's share of a salted list: the whole key (front coding only shrinks it), its hash, a length header. */
const itemBytes = (key: string): number => Buffer.byteLength(key) + 3 + SALTED_HASH_BYTES

/**
 * Our key space from `from` as salted lists: consecutive ranges from `from`, each of at most MAX_RANGE_ITEMS
 * keys and small enough that a message of one list fits `maxBytes`, `maxKeys` keys in all. The last range
 * ends at the end of the key space, or at the first key left out (`next`, where the next session resumes).
 */
export function saltedLists (index: KeyIndex, salt: Uint8Array, maxBytes: number, from = '', maxKeys = Infinity): { lists: RangeItems[], next: string | null } {
  const room = maxBytes - SALTED_MESSAGE_OVERHEAD - LIST_OVERHEAD - 2 * 1024 * 3 // two bounds, at their longest
  const lists: RangeItems[] = []
  let current: RangeItems = { lo: from, hi: null, items: [] }
  let used = 0
  let listed = 0
  for (const [key, hash] of index.items(from)) {
    if (listed >= maxKeys) {
      current.hi = key
      lists.push(current)
      return { lists, next: key }
    }
    listed++
    const size = itemBytes(key)
    if (current.items.length > 0 && (current.items.length >= MAX_RANGE_ITEMS || used + size > room)) {
      current.hi = key
      lists.push(current)
      current = { lo: key, hi: null, items: [] }
      used = 0
    }
    current.items.push([key, saltedHash(salt, hash)])
    used += size
  }
  lists.push(current)
  return { lists, next: null }
}

/**
 * The opening of a salted session: our key space from `from` in salted lists, at most SALTED_SESSION_KEYS
 * keys; `next`: the first key left for the next salted session (null: it reached the end).
 */
export function saltedPlan (index: KeyIndex, maxBytes: number, from: string, salt = newSalt()): { plan: Plan, next: string | null } {
  const plan = new Plan()
  const { lists, next } = saltedLists(index, salt, maxBytes, from, SALTED_SESSION_KEYS)
  plan.salted = { salt, lists }
  return { plan, next }
}

/**
 * Answers one salted list of the peer's: keys only we hold go whole; keys only it holds, we ask for; keys
 * whose salted hashes differ, we send our summary of and ask back (the salted hash tells us nothing of
 * its summary, so there is no delta to compute yet).
 */
export function answerSalted (index: KeyIndex, salt: Uint8Array, r: RangeItems, plan: Plan): void {
  const mine = index.items(r.lo, r.hi ?? undefined)
  const theirs = r.items
  let i = 0; let j = 0
  while (i < mine.length || j < theirs.length) {
    const a = mine[i]; const b = theirs[j]
    if (b === undefined || (a !== undefined && a[0] < b[0])) { plan.fullKeys.push(a[0]); i++; continue }
    if (a === undefined || b[0] < a[0]) { plan.ask.push({ key: b[0], contract: null, summary: null }); j++; continue }
    if (!sameHash(saltedHash(salt, a[1]), b[1])) plan.askKeys.push(a[0])
    i++; j++
  }
}

/** Encoded size bound of one salted list in a message (for chunking). */
export function saltedListSize (r: RangeItems): number {
  let n = LIST_OVERHEAD + Buffer.byteLength(r.lo) + (r.hi === null ? 0 : Buffer.byteLength(r.hi)) + 6
  for (const [key] of r.items) n += itemBytes(key)
  return n
}
