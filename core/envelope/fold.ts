// The inner state an owned key's value is read from: the join of every inner state its envelope holds.
import type { Plain } from '../codec.ts'
import type { OwnedConfig } from './owned-params.ts'
import { type Ckpt, type Item, type OwnedState, isRevoke } from './state.ts'

// Per configured contract: one state object (the shared empty state, say) folds differently under another inner contract.
const folds = new WeakMap<OwnedConfig, WeakMap<object, Plain>>()

/**
 * The join of every checkpoint, entry and frozen state of `s`, cached by state object (states are never changed
 * in place), and per block: a merge keeps the blocks it did not change as they were, so refolding after a carry
 * or a revoke folds only the changed blocks' bodies, then joins the blocks' folds.
 */
export function foldOf (cfg: OwnedConfig, s: OwnedState): Plain {
  let cache = folds.get(cfg)
  if (cache === undefined) folds.set(cfg, cache = new WeakMap())
  let f = cache.get(s)
  if (f === undefined) {
    const parts: Plain[] = []
    for (const r of s.a) if (isRevoke(r)) for (const fb of r[2]) parts.push(blockFold(cfg, cache, fb, fb[1], fb[2]))
    for (const b of s.w) parts.push(blockFold(cfg, cache, b, b[3], b[4]))
    f = cfg.inner.merge(cfg.inner.empty(), joinAll(cfg, parts)) as Plain
    cache.set(s, f)
  }
  return f
}

/** The join of one block's (or frozen block's) bodies, cached by the block's object. */
function blockFold (cfg: OwnedConfig, cache: WeakMap<object, Plain>, b: object, ckpts: readonly Ckpt[], entries: readonly Item[]): Plain {
  let f = cache.get(b)
  if (f === undefined) {
    f = joinAll(cfg, [...ckpts.map(k => k[2]), ...entries.map(e => e[1])])
    cache.set(b, f)
  }
  return f
}

/**
 * The join of `bodies`, pairwise in a balanced tree: each body is copied into about log2(n) merges, so the fold
 * costs O(total size · log n). Folding them one by one into a growing state copied it per body: quadratic in
 * the bodies (1.8 s for 8809 one-entry lanes).
 */
function joinAll (cfg: OwnedConfig, bodies: Plain[]): Plain {
  if (bodies.length === 0) return cfg.inner.empty() as Plain
  let level = bodies
  while (level.length > 1) {
    const next: Plain[] = []
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? cfg.inner.merge(level[i], level[i + 1]) as Plain : level[i])
    level = next
  }
  return level[0]
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
