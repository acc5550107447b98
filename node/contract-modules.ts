/**
 * `--contract MODULE`: imports a module and registers every export that looks
 * like a contract. Registration law-checks each one (core/registry.ts), so a
 * contract that would diverge replicas is refused with the law it breaks.
 */
import { pathToFileURL } from 'node:url'
import type { AnyContract } from '../core/contract.ts'
import type { ContractRegistry } from '../core/registry.ts'

/** An object with an id, merge, summarize and ops: the rest is checked by registry.register. */
export function looksLikeContract (x: unknown): x is AnyContract {
  if (x === null || typeof x !== 'object') return false
  const c = x as Record<string, unknown>
  return typeof c.id === 'string' && typeof c.merge === 'function' && typeof c.summarize === 'function' && c.ops !== null && typeof c.ops === 'object'
}

/** Imports each module and registers its contracts; returns them. Throws naming the module on any failure. */
export async function loadContractModules (paths: readonly string[], registry: ContractRegistry): Promise<AnyContract[]> {
  const loaded: AnyContract[] = []
  for (const path of paths) {
    let mod: Record<string, unknown>
    try {
      mod = await import(pathToFileURL(path).href) as Record<string, unknown>
    } catch (err) {
      throw new Error(`--contract ${path}: cannot load the module: ${(err as Error).message}`)
    }
    // A module may export the same contract under two names (say, named and default): register it once.
    const found = [...new Set(Object.values(mod).filter(looksLikeContract))]
    if (found.length === 0) throw new Error(`--contract ${path}: the module exports no contract (an object with id, merge, summarize and ops)`)
    for (const c of found) {
      try {
        registry.register(c)
      } catch (err) {
        throw new Error(`--contract ${path}: ${(err as Error).message}`)
      }
      loaded.push(c)
    }
  }
  return loaded
}
