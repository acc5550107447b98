// The inner state an owned key's value is read from: the join of every inner state its envelope holds.
import type { Plain } from '../codec.ts'
import type { OwnedConfig } from './owned-params.ts'
import { type OwnedState, bodiesOf } from './state.ts'

// Per configured contract: one state object (the shared empty state, say) folds differently under another inner contract.
const folds = new WeakMap<OwnedConfig, WeakMap<object, Plain>>()

/** The join of every checkpoint, entry and frozen state of `s`, cached by state object (states are never changed in place). */
export function foldOf (cfg: OwnedConfig, s: OwnedState): Plain {
  let cache = folds.get(cfg)
  if (cache === undefined) folds.set(cfg, cache = new WeakMap())
  let f = cache.get(s)
  if (f === undefined) {
    f = cfg.inner.empty() as Plain
    for (const body of bodiesOf(s)) f = cfg.inner.merge(f, body) as Plain
    cache.set(s, f)
  }
  return f
}

/**
 * Seeds the fold of `r` = merge(a, b) from those of a and b, when the merge left nothing out: r's inner states
 * are then exactly a's and b's, so its fold is the join of theirs (a write costs one inner merge, not a
 * refold of the key). When it left something out (a checkpoint, a revoke), r is folded anew when read.
 */
export function seedFold (cfg: OwnedConfig, r: OwnedState, a: OwnedState, b: OwnedState): void {
  const cache = folds.get(cfg)
  if (cache === undefined || cache.has(r)) return
  const fa = cache.get(a)
  const fb = cache.get(b)
  if (fa === undefined && fb === undefined) return
  cache.set(r, cfg.inner.merge(fa ?? foldOf(cfg, a), fb ?? foldOf(cfg, b)) as Plain)
}
