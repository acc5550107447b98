/**
 * `--contract MODULE`: imports a module and registers every export that looks
 * like a contract. Registration law-checks each one (core/registry.ts), so a
 * contract that would diverge replicas is refused with the law it breaks. A
 * module may export `lawInputs` beside its contracts: argument generators per
 * op and an optional model, by contract id (see LawInputs in core/laws/types.ts).
 */
import { pathToFileURL } from 'node:url'
import type { AnyContract } from '../core/contract.ts'
import type { LawInputs, LawOptions } from '../core/laws.ts'
import type { ContractRegistry } from '../core/registry.ts'

/** An object with an id, merge, summarize and ops: the rest is checked by registry.register. */
export function looksLikeContract (x: unknown): x is AnyContract {
  if (x === null || typeof x !== 'object') return false
  const c = x as Record<string, unknown>
  return typeof c.id === 'string' && typeof c.merge === 'function' && typeof c.summarize === 'function' && c.ops !== null && typeof c.ops === 'object'
}

export interface ContractModule {
  contracts: AnyContract[]
  /** Law inputs by contract id; checked to name only exported contracts and their ops. */
  lawInputs: Record<string, LawInputs>
}

/** The law-check options a daemon or check-contract passes for every contract: seed, runs, and a replay path. */
export type LawCheckOptions = Pick<LawOptions, 'seed' | 'numRuns' | 'path'>

const isArbitrary = (x: unknown): boolean => x !== null && typeof x === 'object' && typeof (x as { generate?: unknown }).generate === 'function'

function checkLawInputs (x: unknown, contracts: readonly AnyContract[]): Record<string, LawInputs> {
  if (x === undefined) return {}
  if (x === null || typeof x !== 'object' || Array.isArray(x)) throw new Error('lawInputs must be an object { [contractId]: { ops, model } }')
  for (const [id, inputs] of Object.entries(x)) {
    const c = contracts.find(k => k.id === id)
    if (c === undefined) throw new Error(`lawInputs names contract "${id}", which the module does not export (it exports: ${contracts.map(k => k.id).join(', ')})`)
    if (inputs === null || typeof inputs !== 'object') throw new Error(`lawInputs["${id}"] must be an object { ops, model }`)
    const { ops, model } = inputs as { ops?: unknown, model?: unknown }
    if (ops !== undefined) {
      if (ops === null || typeof ops !== 'object') throw new Error(`lawInputs["${id}"].ops must map op names to fast-check arbitraries of argument lists`)
      for (const [op, arb] of Object.entries(ops)) {
        if (!Object.hasOwn(c.ops, op)) throw new Error(`lawInputs["${id}"].ops names op "${op}", which contract "${id}" does not have (its ops: ${Object.keys(c.ops).join(', ')})`)
        if (!isArbitrary(arb)) throw new Error(`lawInputs["${id}"].ops.${op} is not a fast-check arbitrary (an fc.Arbitrary of argument lists, e.g. fc.tuple(fc.nat()))`)
      }
    }
    if (model !== undefined) {
      const m = model as Record<string, unknown>
      if (m === null || typeof m !== 'object' || ['init', 'apply', 'view'].some(k => typeof m[k] !== 'function')) {
        throw new Error(`lawInputs["${id}"].model must be an object with init(), apply(model, op, args, ctx) and view(model) functions`)
      }
    }
  }
  return x as Record<string, LawInputs>
}

/** Imports one module: its contracts and law inputs. Throws naming the module on any failure. */
export async function importContractModule (path: string): Promise<ContractModule> {
  let mod: Record<string, unknown>
  try {
    mod = await import(pathToFileURL(path).href) as Record<string, unknown>
  } catch (err) {
    throw new Error(`${path}: cannot load the module: ${(err as Error).message}`)
  }
  // A module may export the same contract under two names (say, named and default): take it once.
  const contracts = [...new Set(Object.values(mod).filter(looksLikeContract))]
  if (contracts.length === 0) throw new Error(`${path}: the module exports no contract (an object with id, merge, summarize and ops)`)
  try {
    return { contracts, lawInputs: checkLawInputs(mod.lawInputs, contracts) }
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`)
  }
}

/** Imports each module and registers its contracts, law-checked with its lawInputs and `laws`; returns them. Throws naming the module on any failure. */
export async function loadContractModules (paths: readonly string[], registry: ContractRegistry, laws: LawCheckOptions = {}): Promise<AnyContract[]> {
  const loaded: AnyContract[] = []
  const options = Object.fromEntries(Object.entries(laws).filter(([, v]) => v !== undefined)) as LawCheckOptions
  for (const path of paths) {
    let mod: ContractModule
    try {
      mod = await importContractModule(path)
    } catch (err) {
      throw new Error(`--contract ${(err as Error).message}`)
    }
    for (const c of mod.contracts) {
      try {
        registry.register(c, { arbitraries: mod.lawInputs[c.id], laws: options })
      } catch (err) {
        throw new Error(`--contract ${path}: ${(err as Error).message}`)
      }
      loaded.push(c)
    }
  }
  return loaded
}
