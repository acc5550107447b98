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
import { ContractError } from '../errors.ts'
import { LruCache } from '../lru-cache.ts'
import { type Ckpt, type Covers, type Item, cmpBytes } from './state.ts'

/** Most (checkpoint, item strictly inside it) pairs validate tests per block (~16 µs each for small states, uncached). */
export const MAX_NESTED_PAIRS = 1024

/** Remembered answers by content: 65,536 of them (about 6 MB). */
const byContent = new LruCache<string, boolean>(65_536)
const byInner = new WeakMap<AnyContract, { covers: Covers }>()

const sigOf = (x: Ckpt | Item): Uint8Array => (x.length === 4 ? x[3] : x[2])
const bodyOf = (x: Ckpt | Item): Plain => (x.length === 4 ? x[2] : x[1])

/** The covers test of inner contract `inner` (one per contract object). */
export function coversFor (inner: AnyContract): Covers {
  return testerOf(inner).covers
}

function testerOf (inner: AnyContract): { covers: Covers } {
  let t = byInner.get(inner)
  if (t === undefined) byInner.set(inner, t = makeCovers(inner))
  return t
}

function makeCovers (inner: AnyContract): { covers: Covers } {
  const answers = new WeakMap<Ckpt, WeakMap<Ckpt | Item, boolean>>()
  const encoded = new WeakMap<Ckpt, Uint8Array>()
  const covers: Covers = (big, small) => {
    let m = answers.get(big)
    if (m === undefined) answers.set(big, m = new WeakMap())
    let yes = m.get(small)
    if (yes !== undefined) return yes
    // The inner contract's id too: a checkpoint's signature also covers its key's params, hence its inner contract.
    const key = createHash('sha256').update(inner.id).update(sigOf(big)).update(sigOf(small)).digest('base64').slice(0, 24)
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
  return { covers }
}

/**
 * `inner`'s covers test for validating one block: it throws ContractError('invalid_state') past MAX_NESTED_PAIRS
 * (checkpoint, item strictly inside it) pairs tested, so a block costs at most that many inner merges. Only a
 * writer that signs checkpoints leaving out what they cover makes such pairs; its lane then syncs no further.
 */
export function budgeted (inner: AnyContract): Covers {
  const covers = testerOf(inner).covers
  let pairs = 0
  return (big, small) => {
    if (++pairs > MAX_NESTED_PAIRS) {
      throw new ContractError('invalid_state', `owned state: a block has more than ${MAX_NESTED_PAIRS} items inside checkpoints that leave them out (its writer signed checkpoints that contradict its own writes)`)
    }
    return covers(big, small)
  }
}
