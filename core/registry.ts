/**
 * Contract id → contract. Registering a contract runs a quick law check and
 * refuses one that breaks a law, naming the law and the shrunk counterexample:
 * a broken contract would silently diverge replicas, so it never gets in.
 */
import type { AnyContract, ContractRef } from './contract.ts'
import type { BoundRef } from './subscription.ts'
import { ContractError } from './errors.ts'
import { type JsonObject, jsonProblem } from './json.ts'
import { type LawArbitraries, type LawOptions, assertLaws } from './laws.ts'

export const CONTRACT_ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/
/** A contract version. On the wire a versioned binding is named `id::version` (PROTOCOL.md §1), itself a valid id. */
export const CONTRACT_VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/
/** Joins an id and a version in a versioned contract's name; ids of contracts that register may not contain it. */
export const VERSION_SEPARATOR = '::'

export interface RegisterOptions {
  /** Arbitraries for the law check (see checkLaws). */
  arbitraries?: LawArbitraries
  /** Law-check options; default 200 runs per law. */
  laws?: LawOptions
  /** Skip the law check: only for contracts whose laws are proven elsewhere (the built-ins, in CI). */
  trusted?: boolean
}

export class ContractRegistry {
  readonly #contracts = new Map<string, AnyContract>()

  /** Adds a contract after checking its shape and laws; throws ContractError('bad_contract' | 'law_broken'). */
  register (contract: AnyContract, options: RegisterOptions = {}): void {
    checkShape(contract)
    if (this.#contracts.has(contract.id)) throw new ContractError('bad_contract', `contract "${contract.id}" is already registered`)
    if (options.trusted !== true) assertLaws(contract, options.arbitraries, { numRuns: 200, ...options.laws })
    this.#contracts.set(contract.id, contract)
  }

  get (id: string): AnyContract | undefined {
    return this.#contracts.get(id)
  }

  has (id: string): boolean {
    return this.#contracts.has(id)
  }

  ids (): string[] {
    return [...this.#contracts.keys()].sort()
  }

  /**
   * The contract a request names, configured with its parameters; throws ContractError('unknown_contract' | 'bad_args').
   * A ref without a version takes the registered contract whatever its version; one with a version must name it.
   */
  resolve (ref: ContractRef): AnyContract {
    const { id, params, version } = parseRef(ref)
    const base = this.#contracts.get(id)
    if (base === undefined) throw new ContractError('unknown_contract', `unknown contract "${id}"; registered: ${this.ids().join(', ') || 'none'}`)
    if (version !== undefined) checkVersion(base, version)
    if (params === undefined || Object.keys(params).length === 0) return base
    if (base.withParams === undefined) throw new ContractError('bad_args', `contract "${id}" takes no parameters`)
    return base.withParams(params)
  }

  /**
   * The contract of a key's binding: the registered one only if its version is the binding's (a binding
   * without a version wants an unversioned contract). Throws ContractError('unknown_contract' | 'bad_args').
   */
  resolveBound (binding: BoundRef): AnyContract {
    const base = this.#contracts.get(binding.id)
    if (base !== undefined) checkVersion(base, binding.version)
    return this.resolve(binding.params === undefined ? binding.id : { id: binding.id, params: binding.params })
  }

  /** The version of the registered contract `id`, if it declares one. */
  versionOf (id: string): string | undefined {
    return this.#contracts.get(id)?.version
  }
}

/** Throws ContractError('unknown_contract') unless `c` has exactly version `version` (undefined: unversioned). */
function checkVersion (c: AnyContract, version: string | undefined): void {
  if (c.version === version) return
  const named = version === undefined ? 'unversioned' : `version "${version}"`
  const here = c.version === undefined ? 'unversioned' : `version "${c.version}"`
  throw new ContractError('unknown_contract', `contract "${c.id}" ${named} is not the one this peer has (${here}): another code under the same id`)
}

/** Splits a ContractRef into id, parameters and version, checking all are well-formed. */
export function parseRef (ref: unknown): { id: string, params?: JsonObject, version?: string } {
  if (typeof ref === 'string') {
    if (!CONTRACT_ID.test(ref)) throw new ContractError('unknown_contract', `contract id ${JSON.stringify(ref).slice(0, 80)} is not a valid id`)
    return { id: ref }
  }
  if (ref === null || typeof ref !== 'object' || Array.isArray(ref)) throw new ContractError('unknown_contract', 'contract must be an id string or {"id", "params"}')
  const { id, params, version } = ref as { id?: unknown, params?: unknown, version?: unknown }
  if (typeof id !== 'string' || !CONTRACT_ID.test(id)) throw new ContractError('unknown_contract', 'contract id is missing or not a valid id')
  if (version !== undefined && (typeof version !== 'string' || !CONTRACT_VERSION.test(version))) {
    throw new ContractError('unknown_contract', `version of contract "${id}" must be a string matching ${CONTRACT_VERSION}`)
  }
  const v = version === undefined ? {} : { version }
  if (params === undefined) return { id, ...v }
  if (params === null || typeof params !== 'object' || Array.isArray(params) || jsonProblem(params) !== undefined) {
    throw new ContractError('bad_args', `parameters of contract "${id}" must be a JSON object`)
  }
  return { id, params: params as JsonObject, ...v }
}

function checkShape (c: AnyContract): void {
  if (c === null || typeof c !== 'object') throw new ContractError('bad_contract', 'a contract must be an object')
  if (typeof c.id !== 'string' || !CONTRACT_ID.test(c.id)) throw new ContractError('bad_contract', `contract id ${JSON.stringify(c.id)} must match ${CONTRACT_ID}`)
  if (c.id.includes(VERSION_SEPARATOR)) throw new ContractError('bad_contract', `contract id ${JSON.stringify(c.id)} must not contain "${VERSION_SEPARATOR}" (it joins an id and a version on the wire)`)
  if (c.version !== undefined) {
    if (typeof c.version !== 'string' || !CONTRACT_VERSION.test(c.version)) throw new ContractError('bad_contract', `version ${JSON.stringify(c.version)} of contract "${c.id}" must match ${CONTRACT_VERSION}`)
    // `id::version` travels where old peers expect an id: it must be one (at most 64 characters), and split back at its first "::".
    if (!CONTRACT_ID.test(c.id + VERSION_SEPARATOR + c.version)) throw new ContractError('bad_contract', `contract "${c.id}" with version "${c.version}" makes a name over 64 characters: shorten the id or the version`)
    if (c.id.endsWith(':')) throw new ContractError('bad_contract', `contract id "${c.id}" ends with ":", so "${c.id}${VERSION_SEPARATOR}${c.version}" would not split back into it: a versioned contract's id must not`)
  }
  for (const fn of ['empty', 'merge', 'summarize', 'delta', 'validate', 'validateSummary', 'view'] as const) {
    if (typeof c[fn] !== 'function') throw new ContractError('bad_contract', `contract "${c.id}" has no ${fn}() function`)
  }
  if (c.ops === null || typeof c.ops !== 'object' || Object.keys(c.ops).length === 0) throw new ContractError('bad_contract', `contract "${c.id}" has no ops`)
  for (const [name, fn] of Object.entries(c.ops)) {
    if (typeof fn !== 'function') throw new ContractError('bad_contract', `op "${name}" of contract "${c.id}" is not a function`)
  }
}
