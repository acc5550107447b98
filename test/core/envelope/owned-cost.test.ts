// What one writer can make an owned key cost (review F3): signature verifies per state and per push, lanes per
// writer, and a revoke that drops a writer's junk.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRegistry } from '../../../contracts/index.ts'
import type { AnyContract } from '../../../core/contract.ts'
import { ContractError } from '../../../core/errors.ts'
import { type OwnedState, laneOf, ownedBinding, parsePublicKey, writerReplica } from '../../../core/envelope/index.ts'
import { MAX_LANES } from '../../../core/envelope/owned-params.ts'
import { entryBytes, paramsHash } from '../../../core/envelope/signed-bytes.ts'
import { clearVerifyCache } from '../../../core/envelope/signing.ts'
import { MAX_STATE_VERIFIES } from '../../../core/envelope/validate.ts'
import type { Block } from '../../../core/envelope/state.ts'
import { PUSH_VERIFY_BUDGET, PushValidator } from '../../../core/sync/push-check.ts'
import { keys, ownedFor, registry, write } from './owned-fixtures.ts'

const c: AnyContract = ownedFor('g-counter')
const ph = paramsHash(c.params!)
const bob = parsePublicKey(keys.bob.publicKey)
const wid = bob.slice(0, 8)

function refused (fn: () => unknown, code: string, what: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof ContractError && err.code === code && what.test(err.message), `expected ${code} matching ${what}`)
}

/** Bob's block in lane `laneName` holding entries 1..n, each a +1 under his own replica id (validly signed). */
function junkBlock (laneName: string, n: number): Block {
  const lane = laneOf(laneName)
  const entries = []
  for (let i = 1; i <= n; i++) {
    const body = [[writerReplica(bob, lane, 0), i]]
    entries.push([i, body, keys.bob.sign(entryBytes(ph, wid, 0, lane, i, body as never))])
  }
  return [wid, 0, lane, [], entries as never]
}
const sorted = (w: Block[]): Block[] => w.sort((x, y) => Buffer.compare(x[0], y[0]) || x[1] - y[1] || Buffer.compare(x[2], y[2]))
const lanesState = (names: string[]): OwnedState => ({ a: [], w: sorted(names.map(n => junkBlock(n, 1))) })

test('a state needing more than MAX_STATE_VERIFIES new verifies is refused, and a resend goes further', () => {
  const big = { a: [], w: [junkBlock('bob-store', MAX_STATE_VERIFIES + 40)] }
  clearVerifyCache()
  refused(() => c.validate(structuredClone(big)), 'invalid_state', /needs more than 256 signatures not verified before/)
  // The verified ones are remembered: sent again (the next session), the honest-but-large state passes.
  const v = c.validate(structuredClone(big)) as OwnedState
  assert.equal(c.view(v), MAX_STATE_VERIFIES + 40)
  // Cached, it costs no verify at all.
  assert.doesNotThrow(() => c.validate(structuredClone(big)))
})

test('a push needing more than PUSH_VERIFY_BUDGET new verifies cannot be judged at this hop (not forwarded, sender not charged)', () => {
  const v = new PushValidator(registry)
  const ref = { id: 'owned', params: c.params! }
  const small = write(c, c.empty(), 'bob', 'inc', [1], 'bob-store').delta
  clearVerifyCache()
  assert.deepEqual(v.check([{ key: 'k', contract: ref, delta: small as never }]), {}, 'an honest push passes')
  const many = { a: [], w: [junkBlock('bob-store', PUSH_VERIFY_BUDGET + 10)] }
  clearVerifyCache()
  const r = v.check([{ key: 'k', contract: ref, delta: many as never }])
  assert.equal(r.invalid, undefined)
  assert.match(r.unjudged ?? '', /needs more than 64 signatures/)
  // The budget is shared by the push's items: two keys' worth of items do not get two budgets.
  clearVerifyCache()
  const half = { a: [], w: [junkBlock('bob-store', 40)] }
  const r2 = v.check([{ key: 'k', contract: ref, delta: half as never }, { key: 'k', contract: ref, delta: { a: [], w: [junkBlock('other-store', 40)] } as never }])
  assert.match(r2.unjudged ?? '', /signatures not verified/)
})

test(`a writer has at most ${MAX_LANES} lanes per gen: more is invalid, a merge keeps the smallest, a store refuses a new one past the cap`, () => {
  const names = Array.from({ length: MAX_LANES + 1 }, (_, i) => 'store' + i)
  refused(() => c.validate(lanesState(names)), 'invalid_state', /more than 16 lanes/)
  // Two valid states of 10 lanes each merge into one of the 16 smallest lanes, in any order and grouping.
  const x = lanesState(names.slice(0, 6).concat(names.slice(12, 16)))
  const y = lanesState(names.slice(6, 16))
  const z = lanesState([names[16], names[0]])
  const xy = c.merge(x, y) as OwnedState
  assert.equal(xy.w.length, MAX_LANES)
  const all = sorted(names.map(n => junkBlock(n, 1))).slice(0, MAX_LANES).map(b => Buffer.from(b[2]).toString('hex'))
  const lanesOf = (s: OwnedState): string[] => s.w.map(b => Buffer.from(b[2]).toString('hex'))
  assert.deepEqual(lanesOf(c.merge(xy, z) as OwnedState), all)
  assert.deepEqual(lanesOf(c.merge(x, c.merge(y, z)) as OwnedState), all, 'associative')
  assert.deepEqual(lanesOf(c.merge(c.merge(z, y), x) as OwnedState), all, 'commutative')
  assert.doesNotThrow(() => c.validate(structuredClone(c.merge(xy, z))))
  assert.equal(c.view(c.merge(xy, z) as OwnedState), MAX_LANES, 'the view counts the kept lanes')
  // Bob's store outside his 16 lanes refuses the write (it would not be kept); one of his stores writes on.
  let s: unknown = c.empty()
  for (let i = 0; i < MAX_LANES; i++) s = write(c, s, 'bob', 'inc', [1], 'store' + i).state
  refused(() => write(c, s, 'bob', 'inc', [1], 'store-new'), 'bad_args', /from 16 stores/)
  assert.equal(c.view(write(c, s, 'bob', 'inc', [1], 'store3').state as OwnedState), MAX_LANES + 1)
})

test('a revoke may freeze nothing: the writer\'s junk leaves the key everywhere', () => {
  let s: unknown = c.empty()
  s = write(c, s, 'alice', 'inc', [5], 'alice-store').state
  const junk = { a: [], w: [junkBlock('bob-store', 30)] }
  s = c.merge(s as OwnedState, c.validate(structuredClone(junk)))
  assert.equal(c.view(s as OwnedState), 35)
  const owner = write(c, s, 'alice', '@writers', [{ revoke: [keys.bob.publicKey], freeze: 'none' }], 'alice-store')
  assert.equal(c.view(owner.state as OwnedState), 5)
  // A peer still holding bob's junk drops it on meeting the revoke, and the result is valid.
  const peer = c.merge(c.validate(structuredClone(junk)), c.validate(structuredClone(owner.delta)))
  assert.equal(c.view(peer as OwnedState), 0)
  assert.equal((peer as OwnedState).w.length, 0)
  // The default still freezes what the owner saw; a bad "freeze" is refused.
  assert.equal(c.view(write(c, s, 'alice', '@writers', [{ revoke: [keys.bob.publicKey] }], 'alice-store').state as OwnedState), 35)
  refused(() => write(c, s, 'alice', '@writers', [{ revoke: [keys.bob.publicKey], freeze: 'some' }]), 'bad_args', /"freeze"/)
  refused(() => write(c, s, 'alice', '@writers', [{ grant: [keys.carol.publicKey], freeze: 'none' }]), 'bad_args', /"freeze"/)
})

test('the value is refolded from the blocks a merge changed, not from every body of the key', () => {
  // A g-counter that counts its merges.
  const reg = createRegistry()
  let merges = 0
  const base = reg.resolve('g-counter')
  reg.register({ ...base, id: 'counted-counter', merge: (a, b) => { merges++; return base.merge(a, b) } }, { trusted: true })
  const b = ownedBinding('kc', { id: 'counted-counter' }, [keys.alice.publicKey, keys.bob.publicKey])
  const cc = reg.resolve({ id: b.id, params: b.params }) as AnyContract
  // Bob writes 7 times from each of 16 stores: 112 entries, no checkpoint yet.
  let s: unknown = cc.empty()
  for (let i = 0; i < MAX_LANES; i++) for (let j = 0; j < 7; j++) s = write(cc, s, 'bob', 'inc', [1], 'store' + i).state
  assert.equal(cc.view(s as OwnedState), 112)
  // The 8th write from store0 carries: its 8 entries become a checkpoint, so the merge drops items and the key is refolded.
  s = write(cc, s, 'bob', 'inc', [1], 'store0').state
  assert.equal(cc.view(s as OwnedState), 113) // the first refold folds every block once
  // The next carry (store1's 8th write) refolds only store1's block, then joins the 16 blocks' folds.
  s = write(cc, s, 'bob', 'inc', [1], 'store1').state
  merges = 0
  assert.equal(cc.view(s as OwnedState), 114)
  assert.ok(merges <= 2 * MAX_LANES, `refolding after a carry took ${merges} inner merges (one per block, not one per body)`)
})
