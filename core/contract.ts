/**
 * The merge contract: a join-semilattice over states, with a compact summary
 * and a delta function. Deltas are states, so one `merge` applies both.
 * States and summaries are plain data (JSON plus byte strings) so the canonical
 * codec gives equal states identical bytes. See DESIGN.md for the six laws and
 * `checkLaws` (core/laws.ts) for the checker.
 */
import type { Plain } from './codec.ts'
import type { SigningKey } from './envelope/signing.ts'
import type { JsonObject, JsonValue } from './json.ts'

/** What an op knows about where and when it runs. */
export interface OpContext {
  /** This replica's id: unique per store, never reused. Dots and tie-breaks use it. */
  readonly replica: string
  /** Wall-clock time in milliseconds since the epoch. */
  readonly now: number
  /** The key that signs this write, if the writer has one: ops of owned keys (core/envelope/) need it; other contracts ignore it. */
  readonly signer?: SigningKey
  /** Set by owned keys (core/envelope/): the delta must record only this replica's own events (ids `replica` and `replica.*`), even nested ones; the envelope joins the writers' deltas. */
  readonly ownEvents?: boolean
}

/** A mutator: returns the delta to merge (a state), or undefined when the op changes nothing. Bad args throw ContractError('bad_args'). */
export type Op<S> = (state: S, args: readonly JsonValue[], ctx: OpContext) => S | undefined

export interface Contract<S extends Plain = Plain, Sum extends Plain = Plain> {
  /** Stable id, e.g. "or-set". Keys are bound to it at their first write. */
  readonly id: string
  /**
   * The version of this code of the contract, if it declares one (`[A-Za-z0-9][A-Za-z0-9._-]*`, with the id at
   * most 62 characters in all). Part of a key's binding: a peer whose contract of this id has another version
   * (or none) treats the key's deltas as from a contract it lacks, so two codes under one id never diverge
   * silently. Change it whenever a change of merge, summarize, delta or validate could make peers disagree.
   */
  readonly version?: string
  /** The parameters this instance was made with (e.g. `{ keepLast: 100 }`), if any. Part of a key's binding. */
  readonly params?: JsonObject
  /** Identity of merge. */
  empty (): S
  /** Commutative, associative, idempotent. Must not mutate its arguments. */
  merge (a: S, b: S): S
  /** Small canonical description of what `s` contains; equal summaries mean equal states. */
  summarize (s: S): Sum
  /** What a holder of `theirs` lacks from `s`; undefined when they lack nothing. */
  delta (s: S, theirs: Sum): S | undefined
  /** Parses untrusted decoded data into a state, or throws ContractError('invalid_state'). */
  validate (x: unknown): S
  /** Parses an untrusted decoded summary, or throws ContractError('invalid_summary'). */
  validateSummary (x: unknown): Sum
  /** Named mutators. */
  readonly ops: Readonly<Record<string, Op<S>>>
  /** What apps read. */
  view (s: S): JsonValue
  /**
   * Optional: the greatest wall-clock stamp (ms since the epoch) a valid state
   * carries, or undefined if none. Contracts that stamp writes with a clock
   * (lww-register, log) implement it; peers use it to estimate each other's
   * clock skew from what they send (core/sync/clock-skew.ts), never for validity.
   */
  stampOf? (s: S): number | undefined
  /**
   * Optional, but every contract whose states record events should have it: the replica ids this state
   * records events under (its entries' dots, counter entries, stamps), not ids only named in a causal
   * context. Owned keys (core/envelope/) refuse a signed change that records events under any replica id
   * but its writer's (or one nested under it, `id.n`); without this hook a writer could record events
   * under another writer's replica id inside its own change.
   */
  replicasOf? (s: S): Iterable<string>
  /** Set by contracts whose params name the key they bind (owned keys): the store refuses to bind any other key to it. */
  readonly boundKey?: string
  /** Returns this contract configured with `params`, or throws ContractError('bad_args'). Absent: the contract takes no parameters. */
  withParams? (params: JsonObject): Contract<S, Sum>
}

/** Any contract, whatever its state and summary types; what registries and stores hold. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyContract = Contract<any, any>

/** How requests name a contract: its id, or its id with parameters (and the version it must have, if given). */
export type ContractRef = string | { id: string, params?: JsonObject, version?: string }
