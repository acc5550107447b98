/**
 * Whether a checkpoint holds an item of its block (state.ts dominance): the item's body is already in the
 * checkpoint's state, inner.merge(ckpt.state, body) canonically equal to ckpt.state. A checkpoint that leaves
 * out some of what it covers by interval then cannot retract it: both are kept.
 * Cost: one inner merge per (checkpoint, item strictly inside it) pair. An honest block holds disjoint
 * checkpoints and the entries after them, so no pair at all once merged; a writer's carry costs fanout pairs.
 * Pairs only a misbehaving writer makes (checkpoints nested in others that leave them out) could cost n²/2
 * merges, so validate refuses a block with more than MAX_NESTED_PAIRS of them (`budgeted`), and answers are
 * remembered by object and by content (the two signatures, which fix the signed bytes): a relay costs lookups.
 */
import { createHash } from 'node:crypto'
import { type Plain, encode } from '../codec.ts'
import type { AnyContract } from '../contract.ts'
import { LruCache } from '../lru-cache.ts'
import { RefusedForNow } from './refused-for-now.ts'
import { type Ckpt, type Covers, type Item, cmpBytes } from './state.ts'

/** Most (checkpoint, item strictly inside it) pairs validate tests per block (~16 µs each for small states, uncached). */
export const MAX_NESTED_PAIRS = 1024

/** Remembered answers by content: 65,536 of them (about 6 MB). */
const byContent = new LruCache<string, boolean>(65_536)
interface Tester { covers: Covers, known: (big: Ckpt, small: Ckpt | Item) => boolean }
const byInner = new WeakMap<AnyContract, Tester>()

const sigOf = (x: Ckpt | Item): Uint8Array => (x.length === 4 ? x[3] : x[2])
const bodyOf = (x: Ckpt | Item): Plain => (x.length === 4 ? x[2] : x[1])

/** The covers test of inner contract `inner` (one per contract object). */
export function coversFor (inner: AnyContract): Covers {
  return testerOf(inner).covers
}

function testerOf (inner: AnyContract): Tester {
  let t = byInner.get(inner)
  if (t === undefined) byInner.set(inner, t = makeCovers(inner))
  return t
}

function makeCovers (inner: AnyContract): Tester {
  const answers = new WeakMap<Ckpt, WeakMap<Ckpt | Item, boolean>>()
  const encoded = new WeakMap<Ckpt, Uint8Array>()
  // The inner contract's id too: a checkpoint's signature also covers its key's params, hence its inner contract.
  const keyOf = (big: Ckpt, small: Ckpt | Item): string => createHash('sha256').update(inner.id).update(sigOf(big)).update(sigOf(small)).digest('base64').slice(0, 24)
  const known = (big: Ckpt, small: Ckpt | Item): boolean => answers.get(big)?.get(small) !== undefined || byContent.get(keyOf(big, small)) !== undefined
  const covers: Covers = (big, small) => {
    let m = answers.get(big)
    if (m === undefined) answers.set(big, m = new WeakMap())
    let yes = m.get(small)
    if (yes !== undefined) return yes
    const key = keyOf(big, small)
    yes = byContent.get(key)
    if (yes === undefined) {
      let own = encoded.get(big)
      if (own === undefined) encoded.set(big, own = encode(big[2]))
      yes = cmpBytes(encode(inner.merge(big[2], bodyOf(small))), own) === 0
      byContent.set(key, yes)
    }
    m.set(small, yes)
    return yes
  }
  return { covers, known }
}

/**
 * `inner`'s covers test for validating one block: past MAX_NESTED_PAIRS (checkpoint, item strictly inside it)
 * pairs not answered before, it throws RefusedForNow, so validating a block costs at most that many inner
 * merges. That is no verdict on the state (a merge of two valid states may hold more pairs, and is valid):
 * answers are remembered, so each resend (every sync session) tests up to that many more and the state
 * arrives; its sender is not charged. Only a writer that signs checkpoints leaving out what they cover makes
 * such pairs.
 */
export function budgeted (inner: AnyContract): Covers {
  const t = testerOf(inner)
  let pairs = 0
  return (big, small) => {
    if (!t.known(big, small) && ++pairs > MAX_NESTED_PAIRS) {
      throw new RefusedForNow(`owned state: a block needs more than ${MAX_NESTED_PAIRS} tests of items inside checkpoints that leave them out (its writer signed checkpoints that contradict its own writes); refused for now (answers are remembered, so a resend goes further)`)
    }
    return t.covers(big, small)
  }
}
