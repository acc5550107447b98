/**
 * Parses an untrusted owned-key state: its shape (sorted, no dominated item, every block's writer granted in
 * the state itself or named in the params at gen 0), every signature (access records by the owner, items by
 * their writer) and every inner state (the inner contract's validate, and its events recorded only under
 * the writer's own replica id). Shape faults throw ContractError('invalid_state'); a signature that does not
 * verify, or an item of a writer this state does not grant, throws ContractError('unauthorized_write').
 * Signatures go through the verification cache (signing.ts), so a relayed state costs hashes, not verifies.
 * Cost: one verify (60-300 µs) per signed item not seen before; the first that fails stops validation, and so
 * does the (MAX_STATE_VERIFIES + 1)th (VerifyBudgetError): what one state costs is bounded. The verified ones
 * stay cached, so a large honest state sent again (the next sync session) goes MAX_STATE_VERIFIES further.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { Plain } from '../codec.ts'
import type { AnyContract } from '../contract.ts'
import { ContractError } from '../errors.ts'
import { isPlainObject, short } from '../json.ts'
import { budgeted } from './covers.ts'
import { RefusedForNow } from './refused-for-now.ts'
import type { OwnedConfig } from './owned-params.ts'
import { MAX_LANES, writerReplica } from './owned-params.ts'
import { ckptBytes, entryBytes, grantBytes, revokeBytes } from './signed-bytes.ts'
import { verifySignature, verifyStats } from './signing.ts'
import { type Access, type Block, type Bytes, type Ckpt, type Frozen, type Item, type OwnedState, LANE_BYTES, WID_BYTES, cmpAccess, cmpBlock, cmpBytes, cmpCkpt, cmpItem, hex, revokedOf, undominated, writerGen } from './state.ts'

/**
 * Most signatures not verified before that validating one state may cost (≈ 26 ms at 100 µs a verify). An honest push
 * carries 1 or 2 (an entry or checkpoint, and its grant); an honest state of a key holds, per writer and lane,
 * about 7·log8(writes) items, so a key's whole state sent to a new peer may need more: it is then refused with
 * VerifyBudgetError, and each resend (every sync session) verifies up to this many more, as the verified stay cached.
 */
export const MAX_STATE_VERIFIES = 256

/**
 * Most uncached verifies all the owned states of one received message may cost together (≈ 40 ms at 100 µs a
 * verify): core/sync/merger.ts runs each message's merge under it. Past it, the rest of the message's owned
 * states are refused for now, like a state past MAX_STATE_VERIFIES, and come again with the next session.
 */
export const MAX_MESSAGE_VERIFIES = 384

/** Validation stopped: the state needs more signature verifies than its budget allows (not proof it is forged). */
export class VerifyBudgetError extends RefusedForNow {
  constructor (allowed: number) {
    super(`owned state: needs more than ${allowed} signatures not verified before; refused for now (those verified are remembered, so a resend goes further)`)
  }
}

/** A verify budget several states share (withVerifyBudget): what is left of it. Async: a message's merge awaits between keys. */
const pools = new AsyncLocalStorage<{ left: number }>()
/** Uncached verifies so far, and allowed, in the validateOwned call under way. */
let spent = 0
let allowed = MAX_STATE_VERIFIES

/**
 * Runs `f` (and whatever it awaits) with at most `n` uncached signature verifies for all the owned states it
 * validates together (one message); within a budget already running, at most what is left of that one.
 */
export function withVerifyBudget<T> (n: number, f: () => T): T {
  const outer = pools.getStore()
  return pools.run(outer !== undefined && outer.left < n ? outer : { left: n }, f)
}

/** verifySignature, counting uncached verifies against the budget. */
function verify (pub: Bytes, msg: Uint8Array, sig: Bytes): boolean {
  const misses = verifyStats.checks - verifyStats.hits
  const ok = verifySignature(pub, msg, sig)
  spent += verifyStats.checks - verifyStats.hits - misses
  if (spent > allowed) throw new VerifyBudgetError(allowed)
  return ok
}

const invalid = (why: string): never => { throw new ContractError('invalid_state', `owned state: ${why}`) }
const unauthorized = (why: string): never => { throw new ContractError('unauthorized_write', `owned state: ${why}`) }
const isGen = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
const isN = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 1
const isBytes = (x: unknown, n: number): x is Bytes => x instanceof Uint8Array && x.length === n

/** True when replica id `r` is `own` or nested under it (`own.n`, as or-map names a field's writers). */
function ownsReplica (own: string, r: string): boolean {
  return r === own || (r.startsWith(own) && r[own.length] === '.')
}

/** Throws unless every event `st` records is under `own` (contracts without replicasOf are not checked). */
export function checkReplicas (inner: AnyContract, st: Plain, own: string, what: string): void {
  if (inner.replicasOf === undefined) return
  for (const r of inner.replicasOf(st)) {
    if (!ownsReplica(own, r)) unauthorized(`${what} records events under replica ${short(r)}, not its writer's ${own}`)
  }
}

function innerState (inner: AnyContract, x: unknown, what: string): Plain {
  try {
    return inner.validate(x) as Plain
  } catch (err) {
    if (err instanceof ContractError && err.code === 'unknown_contract') throw err
    return invalid(`${what} is not a valid "${inner.id}" state: ${(err as Error)?.message}`)
  }
}

/** A revoke's frozen blocks: each item verified against the revoked writer's key, as in a block (the owner's word is not enough). */
function parseFrozen (cfg: OwnedConfig, pub: Bytes, gen: number, x: unknown): Frozen {
  if (!Array.isArray(x)) return invalid('a revoke\'s frozen blocks must be a list of [lane, checkpoints, entries]')
  if (x.length > MAX_LANES) invalid(`a revoke freezes ${x.length} lanes: at most ${MAX_LANES}`)
  const out: Frozen = []
  for (const f of x) {
    if (!Array.isArray(f) || f.length !== 3 || !isBytes(f[0], LANE_BYTES) || !Array.isArray(f[1]) || !Array.isArray(f[2])) invalid('a frozen block is not [lane (8 bytes), checkpoints, entries]')
    const lane = f[0] as Bytes
    if (out.length > 0 && cmpBytes(out[out.length - 1][0], lane) >= 0) invalid('frozen lanes are not sorted and unique')
    const [ckpts, entries] = parseItems(cfg, f[1] as unknown[], f[2] as unknown[], { wid: pub.slice(0, WID_BYTES), gen, lane, pub, replica: writerReplica(pub, lane, gen) })
    out.push([lane, ckpts, entries])
  }
  return out
}

function parseAccess (cfg: OwnedConfig, x: unknown): Access {
  if (!Array.isArray(x) || (x.length !== 3 && x.length !== 4) || !isBytes(x[0], 32) || !isGen(x[1]) || !isBytes(x[x.length - 1], 64)) {
    return invalid('an access record is not [public key (32 bytes), gen, sig (64 bytes)] or [public key, gen, frozen, sig]')
  }
  const pub = x[0] as Bytes
  const gen = x[1] as number
  const sig = x[x.length - 1] as Bytes
  if (cmpBytes(pub, cfg.owner) === 0) invalid(x.length === 4 ? 'the owner cannot be revoked' : 'the owner needs no grant')
  if (x.length === 3) {
    if (gen === 0 && cfg.writers.some(w => cmpBytes(w, pub) === 0)) invalid('a writer named in the params is granted at gen 0 without a record')
    if (!verify(cfg.owner, grantBytes(cfg.ph, pub, gen), sig)) unauthorized('a grant is not signed by the key\'s owner')
    return [pub, gen, sig]
  }
  const frozen = parseFrozen(cfg, pub, gen, x[2])
  if (!verify(cfg.owner, revokeBytes(cfg.ph, pub, gen, frozen), sig)) unauthorized('a revoke is not signed by the key\'s owner')
  return [pub, gen, frozen, sig]
}

type BlockId = { wid: Bytes, gen: number, lane: Bytes, pub: Bytes, replica: string }

function parseEntry (cfg: OwnedConfig, x: unknown, blk: BlockId): Item {
  if (!Array.isArray(x) || x.length !== 3 || !isN(x[0]) || !isBytes(x[2], 64)) return invalid('an entry is not [n ≥ 1, delta, sig (64 bytes)]')
  const body = innerState(cfg.inner, x[1], 'the delta of an entry')
  checkReplicas(cfg.inner, body, blk.replica, 'an entry')
  if (!verify(blk.pub, entryBytes(cfg.ph, blk.wid, blk.gen, blk.lane, x[0], body), x[2])) unauthorized('an entry is not signed by its writer')
  return [x[0], body, x[2]]
}

function parseCkpt (cfg: OwnedConfig, x: unknown, blk: BlockId): Ckpt {
  if (!Array.isArray(x) || x.length !== 4 || !isN(x[0]) || !isN(x[1]) || x[1] < x[0] || !isBytes(x[3], 64)) return invalid('a checkpoint is not [lo ≥ 1, hi ≥ lo, state, sig (64 bytes)]')
  const body = innerState(cfg.inner, x[2], 'the state of a checkpoint')
  checkReplicas(cfg.inner, body, blk.replica, 'a checkpoint')
  if (!verify(blk.pub, ckptBytes(cfg.ph, blk.wid, blk.gen, blk.lane, x[0], x[1], body), x[3])) unauthorized('a checkpoint is not signed by its writer')
  return [x[0], x[1], body, x[3]]
}

/** A block's (or frozen block's) checkpoints and entries: each verified, sorted, none covering another, not both empty. */
function parseItems (cfg: OwnedConfig, ks: unknown[], es: unknown[], blk: BlockId): [Ckpt[], Item[]] {
  const ckpts = ks.map(k => parseCkpt(cfg, k, blk))
  const entries = es.map(e => parseEntry(cfg, e, blk))
  if (ckpts.length === 0 && entries.length === 0) invalid('a block holds nothing')
  for (let i = 1; i < ckpts.length; i++) if (cmpCkpt(ckpts[i - 1], ckpts[i]) >= 0) invalid('a block\'s checkpoints are not sorted and unique')
  for (let i = 1; i < entries.length; i++) if (cmpItem(entries[i - 1], entries[i]) >= 0) invalid('a block\'s entries are not sorted and unique')
  if (undominated(ckpts, entries, budgeted(cfg.inner)).dropped) invalid('a block holds an item a checkpoint of it covers and holds (a checkpoint replaces what it holds)')
  return [ckpts, entries]
}

function parseBlock (cfg: OwnedConfig, x: unknown, grants: ReadonlyMap<string, Bytes>): Block {
  if (!Array.isArray(x) || x.length !== 5 || !isBytes(x[0], WID_BYTES) || !isGen(x[1]) || !isBytes(x[2], LANE_BYTES) || !Array.isArray(x[3]) || !Array.isArray(x[4])) {
    return invalid('a block is not [writer id (8 bytes), gen, lane (8 bytes), checkpoints, entries]')
  }
  const [wid, gen, lane] = x as [Bytes, number, Bytes]
  const pub = (gen === 0 ? cfg.paramsWids.get(hex(wid)) : undefined) ?? grants.get(writerGen(wid, gen))
  if (pub === undefined) unauthorized(`a block of writer ${hex(wid)} gen ${gen} whose writer this state does not grant`)
  const [ckpts, entries] = parseItems(cfg, x[3] as unknown[], x[4] as unknown[], { wid, gen, lane, pub: pub as Bytes, replica: writerReplica(pub as Bytes, lane, gen) })
  return [wid, gen, lane, ckpts, entries]
}

export function validateOwned (cfg: OwnedConfig, x: unknown): OwnedState {
  if (!isPlainObject(x) || Object.keys(x).length !== 2 || !Array.isArray(x.a) || !Array.isArray(x.w)) return invalid(`must be {a: [...], w: [...]}, got ${short(x)}`)
  checkLanes(x.w as unknown[])
  spent = 0
  const pool = pools.getStore()
  allowed = Math.min(MAX_STATE_VERIFIES, pool?.left ?? MAX_STATE_VERIFIES)
  try {
    return validateParts(cfg, x.a as unknown[], x.w as unknown[])
  } finally {
    if (pool !== undefined) pool.left = Math.max(0, pool.left - spent)
    spent = 0
  }
}

/** Throws, before any signature is verified, when a (writer, gen) has more than MAX_LANES blocks. */
function checkLanes (w: unknown[]): void {
  const lanes = new Map<string, number>()
  for (const b of w) {
    if (!Array.isArray(b) || !isBytes(b[0], WID_BYTES) || !isGen(b[1])) continue // parseBlock names the fault
    const wg = writerGen(b[0], b[1])
    const k = (lanes.get(wg) ?? 0) + 1
    if (k > MAX_LANES) invalid(`writer ${hex(b[0])} gen ${b[1]} has more than ${MAX_LANES} lanes`)
    lanes.set(wg, k)
  }
}

function validateParts (cfg: OwnedConfig, xa: unknown[], xw: unknown[]): OwnedState {
  const a = xa.map(r => parseAccess(cfg, r))
  for (let i = 1; i < a.length; i++) if (cmpAccess(a[i - 1], a[i]) >= 0) invalid('access records are not sorted and unique')
  const revoked = revokedOf(a)
  const grants = new Map<string, Bytes>()
  for (const r of a) {
    if (r.length !== 3) continue
    const wg = writerGen(r[0], r[1])
    if (revoked.has(wg)) invalid('a grant sits beside its revoke (the revoke replaces it)')
    grants.set(wg, r[0])
  }
  const w = xw.map(b => parseBlock(cfg, b, grants))
  for (let i = 0; i < w.length; i++) {
    if (i > 0 && cmpBlock(w[i - 1], w[i]) >= 0) invalid('blocks are not sorted and unique')
    if (revoked.has(writerGen(w[i][0], w[i][1]))) invalid('a block of a revoked writer (its revoke replaces it)')
  }
  return { a, w }
}
