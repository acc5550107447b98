// A writer that signs two different items under one number (equivocation, a reused nonce included) cannot keep
// honest peers apart, and a checkpoint cannot retract what its writer wrote before (review findings F1, F4).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, createPrivateKey } from 'node:crypto'
import fc from 'fast-check'
import type { Plain } from '../../../core/codec.ts'
import { encode } from '../../../core/codec.ts'
import type { AnyContract } from '../../../core/contract.ts'
import { type OwnedState, generateSigningKey, laneOf, parsePublicKey, writerReplica } from '../../../core/envelope/index.ts'
import { ckptBytes, entryBytes, paramsHash, revokeBytes } from '../../../core/envelope/signed-bytes.ts'
import { RefusedForNow } from '../../../core/envelope/refused-for-now.ts'
import { MAX_NESTED_PAIRS } from '../../../core/envelope/covers.ts'
import { type Ckpt, type Frozen, type Item, cmpCkpt } from '../../../core/envelope/state.ts'
import { keys, ownedFor, registry, write } from './owned-fixtures.ts'

const eq = (x: unknown, y: unknown): boolean => Buffer.compare(encode(x), encode(y)) === 0
const wire = (c: AnyContract, x: unknown): unknown => c.validate(structuredClone(x))

/** Anti-entropy between two peers, both ways per round, until neither has a delta; the rounds it took. */
function converge (c: AnyContract, a: unknown, b: unknown, maxRounds = 6): { a: unknown, b: unknown, rounds: number } {
  for (let round = 1; round <= maxRounds; round++) {
    const toB = c.delta(a, c.validateSummary(structuredClone(c.summarize(b))))
    const toA = c.delta(b, c.validateSummary(structuredClone(c.summarize(a))))
    if (toA === undefined && toB === undefined) return { a, b, rounds: round - 1 }
    if (toB !== undefined) b = c.merge(b, wire(c, toB))
    if (toA !== undefined) a = c.merge(a, wire(c, toA))
  }
  assert.fail(`no convergence in ${maxRounds} rounds: ${JSON.stringify(c.view(a))} vs ${JSON.stringify(c.view(b))}`)
}

test('two entries under one number: summaries differ, each side sends its own, both peers end with both', () => {
  const c: AnyContract = ownedFor('or-set')
  const A = write(c, c.empty(), 'bob', 'add', ['x'], 'bob-store').state // sent to peer A
  const B = write(c, c.empty(), 'bob', 'add', ['y'], 'bob-store').state // same block, n = 1, sent to peer B
  assert.ok(!eq(c.summarize(A), c.summarize(B)), 'the summaries tell the two entries apart')
  // Law 2 at once: the same numbers on both sides, so each sends its whole block.
  for (const [x, y] of [[A, B], [B, A]]) {
    const d = c.delta(x, c.validateSummary(structuredClone(c.summarize(y))))
    assert.notEqual(d, undefined)
    assert.ok(eq(c.merge(y, wire(c, d)), c.merge(x, y)), 'merge(b, delta(a, summarize(b))) = merge(a, b)')
  }
  const r = converge(c, A, B)
  assert.ok(eq(r.a, r.b) && eq(r.a, c.merge(A, B)))
  assert.equal((r.a as OwnedState).w[0][4].length, 2, 'both entries kept')
  assert.deepEqual(c.view(r.a), c.view(c.merge(A, B)))
})

test('equivocating histories of any length (checkpoints every 2) converge, and equal summaries mean equal states', () => {
  const c: AnyContract = ownedFor('g-set', 'k', undefined, 2)
  const hist = (vals: string[], prefix: string): unknown => vals.reduce((s, v) => write(c, s, 'bob', 'add', [prefix + v], 'bob-store').state, c.empty())
  fc.assert(fc.property(fc.array(fc.constantFrom('p', 'q', 'r'), { maxLength: 9 }), fc.array(fc.constantFrom('p', 'q', 's'), { maxLength: 9 }), fc.boolean(), (xs, ys, sharePrefix) => {
    const A = hist(xs, sharePrefix ? '' : 'a-'); const B = hist(ys, 'b-')
    if (eq(c.summarize(A), c.summarize(B))) assert.ok(eq(A, B), 'summary-faithful')
    const r = converge(c, A, B)
    assert.ok(eq(r.a, r.b), `states differ after ${r.rounds} rounds`)
    assert.ok(eq(r.a, c.merge(A, B)), 'they converge to the join')
    assert.ok(eq(c.view(r.a), c.view(r.b)), 'one value on both peers') // which twin a reused dot shows is the inner contract's tie-break
  }), { numRuns: 60, seed: 11 })
})

// Ed25519 with a reused nonce: R of an existing signature, S = r + H(R || A || msg)·a (RFC 8032), r recovered from it.
const L = 2n ** 252n + 27742317777372353535851937790883648493n
const le = (b: Uint8Array): bigint => BigInt('0x' + (Buffer.from(b).reverse().toString('hex') || '0'))
const toLe = (n: bigint): Uint8Array => new Uint8Array(Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse())
function reuseNonce (pem: string, pub: Uint8Array, sig0: Uint8Array, msg0: Uint8Array, msg: Uint8Array): Uint8Array {
  const seed = Buffer.from((createPrivateKey(pem).export({ format: 'jwk' }) as { d: string }).d, 'base64url')
  const hh = createHash('sha512').update(seed).digest()
  const a0 = Buffer.from(hh.subarray(0, 32)); a0[0] &= 248; a0[31] &= 127; a0[31] |= 64
  const a = le(a0)
  const R = sig0.subarray(0, 32)
  const k = (m: Uint8Array): bigint => le(createHash('sha512').update(R).update(pub).update(m).digest()) % L
  const r = ((le(sig0.subarray(32)) - k(msg0) * a) % L + L) % L
  return new Uint8Array([...R, ...toLe((r + k(msg) * a) % L)])
}

test('two checkpoints under one interval signed with one nonce (same signature prefix) still spread both ways', () => {
  const { pem, key } = generateSigningKey() // a writer that holds its own seed, as a malicious one does
  const c: AnyContract = ownedFor('g-counter', 'k', [key.publicKey])
  const pub = parsePublicKey(key.publicKey)
  const wid = pub.slice(0, 8)
  const lane = laneOf('m-store')
  const rep = writerReplica(pub, lane, 0)
  const ph = paramsHash(c.params!)
  const body = (n: number): Plain => [[rep, n]]
  const msg0 = ckptBytes(ph, wid, 0, lane, 1, 2, body(2))
  const sig0 = key.sign(msg0)
  const sig1 = reuseNonce(pem, pub, sig0, msg0, ckptBytes(ph, wid, 0, lane, 1, 2, body(1000)))
  assert.ok(eq(sig0.subarray(0, 32), sig1.subarray(0, 32)), 'one R, so one signature prefix')
  const X = c.validate({ a: [], w: [[wid, 0, lane, [[1, 2, body(2), sig0]], []]] }) // both verify
  const Y = c.validate({ a: [], w: [[wid, 0, lane, [[1, 2, body(1000), sig1]], []]] })
  assert.ok(!eq(c.summarize(X), c.summarize(Y)), 'the summaries tell the two checkpoints apart')
  const r = converge(c, X, Y)
  assert.ok(eq(r.a, r.b) && eq(r.a, c.merge(X, Y)))
  assert.equal(c.view(r.a), 1000)
  assert.equal(r.rounds, 1, 'one round: law 2 holds at once')
})

/** Bob's writes to a grow-only set as entries 1..4 of one block, and checkpoints of that block he signs as he likes. */
function bobsBlock (): { c: AnyContract, entries: Item[], ckpt: (lo: number, hi: number, of: number[]) => OwnedState, entry: (n: number) => OwnedState } {
  const c: AnyContract = ownedFor('g-set')
  let s = c.empty()
  for (const v of ['b1', 'b2', 'b3', 'b4']) s = write(c, s, 'bob', 'add', [v], 'bob-store').state
  const [wid, gen, lane, , entries] = (s as OwnedState).w[0]
  const inner = registry.resolve({ id: 'g-set' })
  const ph = paramsHash(c.params!)
  const bob = parsePublicKey(keys.bob.publicKey)
  const ckpt = (lo: number, hi: number, of: number[]): OwnedState => {
    const st = of.reduce((f: Plain, n) => inner.merge(f, entries[n - 1][1]) as Plain, inner.empty() as Plain)
    const k: Ckpt = [lo, hi, st, keys.bob.sign(ckptBytes(ph, bob.slice(0, 8), gen, lane, lo, hi, st))]
    return c.validate({ a: [], w: [[wid, gen, lane, [k], []]] }) as OwnedState
  }
  const entry = (n: number): OwnedState => c.validate({ a: [], w: [[wid, gen, lane, [], [entries[n - 1]]]] }) as OwnedState
  return { c, entries, ckpt, entry }
}

test('a checkpoint that leaves out its writer\'s entries does not retract them, here or on a peer', () => {
  const { c, ckpt, entry } = bobsBlock()
  const written = c.merge(entry(1), entry(2))
  assert.deepEqual(c.view(written), ['b1', 'b2'])
  const retract = ckpt(1, 2, [])
  const after = c.merge(written, retract) as OwnedState
  assert.deepEqual(c.view(after), ['b1', 'b2'], 'the empty checkpoint [1, 2] removes nothing')
  assert.equal(after.w[0][3].length, 1); assert.equal(after.w[0][4].length, 2, 'both entries kept beside it')
  assert.ok(eq(c.validate(structuredClone(after)), after), 'validate accepts what merge made')
  // A peer that got only the empty checkpoint learns the entries from one that holds them.
  const r = converge(c, written, retract)
  assert.ok(eq(r.a, r.b)); assert.deepEqual(c.view(r.b), ['b1', 'b2'])
  // Partly: a checkpoint of 1..2 holding only b1 replaces entry 1, not entry 2.
  const part = c.merge(written, ckpt(1, 2, [1])) as OwnedState
  assert.deepEqual(part.w[0][4].map(e => e[0]), [2])
  // An honest checkpoint still replaces all it covers, and validate refuses a block keeping an item it holds.
  const whole = c.merge(written, ckpt(1, 2, [1, 2])) as OwnedState
  assert.equal(whole.w[0][4].length, 0)
  const [wid, gen, lane, ks] = whole.w[0]
  assert.throws(() => c.validate({ a: [], w: [[wid, gen, lane, ks, [(written as OwnedState).w[0][4][0]]]] }), /a checkpoint of it covers and holds/)
})

test('with checkpoints that hold only part of what they cover, merge is still a join, valid, and loses no write', () => {
  const { c, ckpt, entry } = bobsBlock()
  const pool: OwnedState[] = [entry(1), entry(2), entry(3), entry(4), ckpt(1, 2, [1, 2]), ckpt(1, 2, []), ckpt(1, 2, [2]),
    ckpt(1, 4, [1, 2, 3, 4]), ckpt(1, 4, [1, 3]), ckpt(3, 4, [3, 4]), ckpt(2, 3, [2]), ckpt(1, 3, [1, 2])]
  const stateArb = fc.subarray(pool).map(xs => xs.reduce((s: unknown, x) => c.merge(s, x), c.empty()))
  const values = (s: unknown): Set<string> => new Set(c.view(s) as string[])
  fc.assert(fc.property(stateArb, stateArb, stateArb, (a, b, d) => {
    const ab = c.merge(a, b)
    assert.ok(eq(ab, c.merge(b, a)), 'commutative')
    assert.ok(eq(c.merge(ab, d), c.merge(a, c.merge(b, d))), 'associative')
    assert.ok(eq(c.merge(a, a), a), 'idempotent')
    assert.ok(eq(c.validate(structuredClone(ab)), ab), 'validate accepts the merge')
    for (const v of [...values(a), ...values(b)]) assert.ok(values(ab).has(v), `merge lost ${v}`)
    const r = converge(c, a, b)
    assert.ok(eq(r.a, r.b) && eq(r.a, ab), 'anti-entropy reaches the join')
  }), { numRuns: 150, seed: 5 })
})

test('validate bounds the content checks a block costs: at most MAX_NESTED_PAIRS items inside checkpoints that leave them out', () => {
  const c: AnyContract = ownedFor('g-set', 'k', undefined, 1_000_000) // no carries: bob's writes stay entries
  const ph = paramsHash(c.params!)
  const bob = parsePublicKey(keys.bob.publicKey)
  let s = c.empty()
  const ks: Ckpt[] = []
  // Checkpoint [1, k] holds only write k: none holds another, so every nested pair is kept and tested.
  for (let k = 1; k <= 47; k++) {
    s = write(c, s, 'bob', 'add', ['v' + k], 'bob-store').state
    const [wid, gen, lane, , entries] = (s as OwnedState).w[0]
    const body = entries[entries.length - 1][1]
    ks.push([1, k, body, keys.bob.sign(ckptBytes(ph, wid, gen, lane, 1, k, body))])
  }
  const [wid, gen, lane] = (s as OwnedState).w[0]
  const block = (n: number): unknown => ({ a: [], w: [[wid, gen, lane, ks.slice(0, n), []]] })
  assert.equal(MAX_NESTED_PAIRS, 1024)
  // n nested checkpoints make n(n−1)/2 pairs: 45 make 990, accepted; 46 make 1035, refused for now (no verdict:
  // answers are remembered, so the next try tests the rest and accepts it, as a resend does: review R2).
  assert.equal((c.validate(block(45)) as OwnedState).w[0][3].length, 45)
  // 45 more pairs for the 46th checkpoint: within the budget, as the 990 answers are remembered.
  assert.equal((c.validate(block(46)) as OwnedState).w[0][3].length, 46)
})

test('the merge of two valid states validates, however many nested checkpoint tests it holds (law 6; review R2)', () => {
  const c: AnyContract = ownedFor('g-counter', 'k2')
  const ph = paramsHash(c.params!)
  const bob = parsePublicKey(keys.bob.publicKey)
  const wid = bob.slice(0, 8)
  const lane = laneOf('bob-store')
  const rep = writerReplica(bob, lane, 0)
  // A: 47 nested checkpoints [1, 100+i] none of which holds another (1,081 pairs); B: 40 entries 1..40 (none).
  const ckpts: Ckpt[] = []
  for (let i = 0; i < 47; i++) {
    const body = [[rep, 1000 - i]]
    ckpts.push([1, 100 + i, body as never, keys.bob.sign(ckptBytes(ph, wid, 0, lane, 1, 100 + i, body as never))])
  }
  ckpts.sort(cmpCkpt)
  const entries: Item[] = []
  for (let n = 1; n <= 40; n++) {
    const body = [[rep, 2000 + n]]
    entries.push([n, body as never, keys.bob.sign(entryBytes(ph, wid, 0, lane, n, body as never))])
  }
  const sentA = { a: [], w: [[wid, 0, lane, ckpts, []]] }
  // Over MAX_NESTED_PAIRS tests not answered before: refused for now (no verdict), and accepted when sent again.
  assert.throws(() => c.validate(sentA), (e: Error & { code?: string }) => e instanceof RefusedForNow && e.code === 'invalid_state' && /more than 1024 tests of items inside checkpoints/.test(e.message))
  const A = c.validate(sentA)
  const B = c.validate({ a: [], w: [[wid, 0, lane, [], entries]] })
  const M = c.merge(A, B) as OwnedState
  assert.equal(M.w[0][3].length + M.w[0][4].length, 87, 'nothing dominated: every item kept')
  assert.deepEqual(c.validate(M), M)
  assert.deepEqual(c.validate(c.delta(M, c.summarize(c.empty()))), M, 'what a new peer is sent is accepted')
})

test('two revokes of one writer signed by the owner with one nonce (same signature prefix) still spread both ways', () => {
  const { pem, key } = generateSigningKey() // an owner that holds its own seed
  const c: AnyContract = ownedFor('g-set', 'k', [key.publicKey, keys.bob.publicKey])
  const ph = paramsHash(c.params!)
  const owner = parsePublicKey(key.publicKey)
  const bob = parsePublicKey(keys.bob.publicKey)
  const s = write(c, c.empty(), 'bob', 'add', ['b1'], 'bob-store').state
  const r0 = (c.ops['@writers'](s, [{ revoke: [keys.bob.publicKey] }], { replica: 'alice-store', now: 0, signer: key }) as OwnedState).a[0]
  const frozen = r0[2] as Frozen
  assert.equal(frozen.length, 1, 'the honest revoke keeps bob\'s write')
  const sig1 = reuseNonce(pem, owner, r0[3] as Uint8Array, revokeBytes(ph, bob, 0, frozen), revokeBytes(ph, bob, 0, []))
  const X = c.validate({ a: [r0], w: [] })
  const Y = c.validate({ a: [[bob, 0, [], sig1]], w: [] })
  assert.ok(eq((r0[3] as Uint8Array).subarray(0, 8), sig1.subarray(0, 8)))
  assert.ok(!eq(c.summarize(X), c.summarize(Y)), 'the summaries tell the two revokes apart')
  const r = converge(c, X, Y)
  assert.ok(eq(r.a, r.b) && eq(r.a, c.merge(X, Y)))
  assert.deepEqual(c.view(r.a), ['b1'], 'both revokes kept; the frozen write counts')
})
