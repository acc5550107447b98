/**
 * The law checker's vocabulary: law names, what callers pass (arbitraries,
 * law inputs, options) and what they get back, and the small helpers every
 * check shares (byte equality, a printable form, a codec round trip).
 */
import type fc from 'fast-check'
import { decode, encode } from '../codec.ts'
import type { OpContext } from '../contract.ts'
import type { JsonValue } from '../json.ts'

export const LAWS = [
  'op-inputs', // the generators reach the ops: each op accepts at least 20% of its generated calls
  'no-mutation', // ops, merge, delta, summarize and view leave their arguments alone
  'merge-commutative', 'merge-associative', 'merge-idempotent', 'merge-identity', // law 1
  'delta-complete', // law 2
  'delta-minimal', // law 3
  'canonical-encoding', 'summary-faithful', // law 4
  'ops-converge', // law 5
  'validate-accepts', 'validate-rejects', 'op-errors', // law 6
  'merge-forged', // law 1 on pairs of valid states that conflict (other content under one event), and the merge valid
  'op-model', // with a model: the view after ops on one replica is the model's
  'view-exact' // no view holds a number JSON cannot carry exactly
] as const
export type LawName = typeof LAWS[number]

export interface OpCall { op: string, args: JsonValue[] }

/**
 * What the view should be after a sequence of ops on one replica: `init` is
 * the model of the empty state, `apply` the model after one op the contract
 * accepted (refused calls leave the model alone), `view` what the contract's
 * view must then be (compared by canonical bytes). With `merge` (the model of
 * two replicas' states merged), the model also follows every replica of the
 * random histories, through merges and syncs: concurrent ops are checked too.
 */
export interface LawModel<M = unknown> {
  init (): M
  apply (model: M, op: string, args: readonly JsonValue[], ctx: OpContext): M
  view (model: M): JsonValue
  merge? (a: M, b: M): M
}

/** What a contract module exports beside a contract, under `lawInputs[contract.id]`. */
export interface LawInputs {
  /** Argument lists for each op; an op left out gets one value of `defaultValue`. */
  ops?: Readonly<Record<string, fc.Arbitrary<readonly JsonValue[]>>>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  model?: LawModel<any>
}

/** The `lawInputs` export of a contract module: law inputs by contract id. */
export type LawInputsById = Readonly<Record<string, LawInputs>>

export interface LawArbitraries extends LawInputs {
  /** Values passed as the single argument of each op without `ops` (default: `defaultValue`). */
  value?: fc.Arbitrary<JsonValue>
  /** Whole op calls. Overrides `ops` and `value`. */
  op?: fc.Arbitrary<OpCall>
}

export interface LawOptions {
  /** Runs per law (default 200). */
  numRuns?: number
  /** Default DEFAULT_LAW_SEED: the same contract gets the same verdict at every start. */
  seed?: number
  /** A failure's `path` (`law:fast-check path`): replays that failure alone. */
  path?: string
  /** Only these laws (default: all). */
  laws?: readonly LawName[]
  /** Replicas in each history (default 3). */
  replicas?: number
  /** Steps in each history (default 12). */
  maxSteps?: number
}

export interface LawFailure {
  law: LawName
  message: string
  /** The shrunk history and the states it produced, as readable JSON. */
  counterexample: string
  /** Replays this failure: pass `seed` and `path` as LawOptions (or --law-seed and --law-path). */
  seed: number
  path: string
}

export interface LawReport { ok: boolean, failures: LawFailure[] }

/** "mono" in ASCII. */
export const DEFAULT_LAW_SEED = 0x6d6f6e6f

export class LawBroken extends Error {
  readonly law: LawName
  constructor (law: LawName, message: string) { super(message); this.law = law }
}

export function bytesEqual (a: unknown, b: unknown): boolean {
  return Buffer.compare(encode(a), encode(b)) === 0
}

/** JSON for humans: byte strings as hex. */
export function show (x: unknown): string {
  return JSON.stringify(x, (_k, v) => v instanceof Uint8Array ? `h'${Buffer.from(v).toString('hex')}'` : v)
}

export function roundTrip (x: unknown): unknown { return decode(encode(x), { maxBytes: Number.MAX_SAFE_INTEGER }) }

export function errorText (err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}
