/**
 * Whether a checkpoint holds an item of its block (state.ts dominance): the item's body is already in the
 * checkpoint's state, inner.merge(ckpt.state, body) canonically equal to ckpt.state. A checkpoint that leaves
 * out some of what it covers by interval then cannot retract it: both are kept. Answers are cached per
 * (checkpoint, item) object pair (states are never changed in place and merges share item objects), so a
 * merge costs inner merges only for pairs it has not met.
 */
import { type Plain, encode } from '../codec.ts'
import type { AnyContract } from '../contract.ts'
import { type Ckpt, type Covers, type Item, cmpBytes } from './state.ts'

const byInner = new WeakMap<AnyContract, Covers>()

/** The covers test of inner contract `inner` (one per contract object, each with its own cache). */
export function coversFor (inner: AnyContract): Covers {
  let c = byInner.get(inner)
  if (c === undefined) byInner.set(inner, c = makeCovers(inner))
  return c
}

function makeCovers (inner: AnyContract): Covers {
  const answers = new WeakMap<Ckpt, WeakMap<Ckpt | Item, boolean>>()
  const encoded = new WeakMap<Ckpt, Uint8Array>()
  return (big, small) => {
    let m = answers.get(big)
    if (m === undefined) answers.set(big, m = new WeakMap())
    let yes = m.get(small)
    if (yes === undefined) {
      const body = (small.length === 4 ? small[2] : small[1]) as Plain
      let own = encoded.get(big)
      if (own === undefined) encoded.set(big, own = encode(big[2]))
      yes = cmpBytes(encode(inner.merge(big[2], body)), own) === 0
      m.set(small, yes)
    }
    return yes
  }
}
