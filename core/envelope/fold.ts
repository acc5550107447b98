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
