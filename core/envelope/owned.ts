/**
 * The `owned` contract: a key envelope that makes any contract writable only by the writers its binding and
 * its owner name. Binding params `{ "key", "contract": INNER_REF, "writers": [PUBKEY, ...] }` (owned-params.ts);
 * state, merge and summary: state.ts, summary.ts; validation: validate.ts; ops: owned-ops.ts. Its value is the
 * inner contract's view of the join of every inner state the envelope holds (fold.ts).
 */
import type { AnyContract, Contract } from '../contract.ts'
import { ContractError } from '../errors.ts'
import type { JsonObject } from '../json.ts'
import type { ContractRegistry } from '../registry.ts'
import type { BoundRef } from '../subscription.ts'
import { coversFor } from './covers.ts'
import { foldOf, seedFold } from './fold.ts'
import { capLanes } from './lanes.ts'
import { opsOf } from './owned-ops.ts'
import { OWNED, type OwnedConfig, parseOwnedParams } from './owned-params.ts'
import { formatPublicKey } from './signing.ts'
import { type OwnedState, cmpBytes, hex, isRevoke, mergeStates } from './state.ts'
import { type OwnedSummary, deltaState, summarizeState, validateSummary } from './summary.ts'
import { validateOwned } from './validate.ts'

export type OwnedContract = Contract<OwnedState, OwnedSummary> & { readonly boundKey?: string }

const configs = new WeakMap<AnyContract, OwnedConfig>()

const EMPTY: OwnedState = { a: [], w: [] }

function configured (cfg: OwnedConfig): OwnedContract {
  const byParams = (wid: Uint8Array, gen: number): boolean => gen === 0 && cfg.paramsWids.has(hex(wid))
  const covers = coversFor(cfg.inner)
  const c: OwnedContract = {
    id: OWNED,
    params: cfg.params,
    boundKey: cfg.key,
    empty: () => EMPTY,
    merge (a, b) {
      const info = { dropped: false }
      const r = capLanes(mergeStates(a, b, covers, info), info)
      if (r !== a && r !== b && !info.dropped) seedFold(cfg, r, a, b)
      return r
    },
    summarize: summarizeState,
    delta: (s, theirs) => deltaState(s, theirs, byParams),
    validate: x => validateOwned(cfg, x),
    validateSummary,
    ops: opsOf(cfg),
    view: s => cfg.inner.view(foldOf(cfg, s)),
    stampOf: s => cfg.inner.stampOf?.(foldOf(cfg, s)),
    withParams: (params: JsonObject) => ownedWith(params, cfg.resolve)
  }
  configs.set(c, cfg)
  return c
}

function ownedWith (params: JsonObject, resolve: (ref: BoundRef) => AnyContract): OwnedContract {
  return configured(parseOwnedParams(params, resolve))
}

const needsParams = (): never => { throw new ContractError('bad_args', 'contract "owned" needs params {"key", "contract", "writers"}: create an owned key by naming its writers') }

/**
 * The `owned` contract of a registry: `resolve` gives the inner contract of a binding's `contract` ref (the
 * registry's resolve, so custom contracts work). Without params it holds nothing and accepts nothing.
 */
export function createOwned (resolve: (ref: BoundRef) => AnyContract): OwnedContract {
  return {
    id: OWNED,
    empty: () => EMPTY,
    merge: (a, b) => mergeStates(a, b, () => false), // it holds only empty states
    summarize: summarizeState,
    delta: () => undefined,
    validate: x => {
      if (x !== null && typeof x === 'object' && Object.keys(x).length === 2 && Array.isArray((x as OwnedState).a) && (x as OwnedState).a.length === 0 && Array.isArray((x as OwnedState).w) && (x as OwnedState).w.length === 0) return EMPTY
      throw new ContractError('invalid_state', 'contract "owned" without params holds nothing: an owned key\'s deltas name its binding\'s params')
    },
    validateSummary,
    ops: { '@writers': needsParams },
    view: () => null,
    withParams: (params: JsonObject) => ownedWith(params, resolve)
  }
}

/** Registers the `owned` contract in `registry` unless it has one: owned keys then work whatever registry a node was given. */
export function withOwned (registry: ContractRegistry): ContractRegistry {
  if (!registry.has(OWNED)) registry.register(createOwned(ref => registry.resolve(ref)), { trusted: true })
  return registry
}

/** `c` (a configured owned contract) checkpointing every `fanout` like items (tests: checkpoints in short histories). */
export function withFanout (c: OwnedContract, fanout: number): OwnedContract {
  const cfg = configs.get(c)
  if (cfg === undefined || !Number.isSafeInteger(fanout) || fanout < 2) throw new TypeError('withFanout needs a configured owned contract and a fanout ≥ 2')
  return configured({ ...cfg, fanout })
}

/** The owner and current writers of an owned key's state (`ed25519:` keys, params order then grants); undefined when `contract` is not a configured owned contract. */
export function accessOf (contract: AnyContract, state: unknown): { owner: string, writers: string[] } | undefined {
  const cfg = configs.get(contract)
  if (cfg === undefined) return undefined
  const s = state as OwnedState
  const revoked0 = new Set<string>()
  const granted: Uint8Array[] = []
  for (const r of s.a) {
    if (isRevoke(r)) { if (r[1] === 0) revoked0.add(hex(r[0])) } else granted.push(r[0])
  }
  const writers = cfg.writers.filter(w => !revoked0.has(hex(w)))
  for (const g of granted) if (!writers.some(w => cmpBytes(w, g) === 0)) writers.push(g)
  return { owner: formatPublicKey(cfg.owner), writers: writers.map(formatPublicKey) }
}

