// Forged changes to an owned key: nothing forged reaches the state or the view, whatever its form.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encode } from '../../../core/codec.ts'
import type { AnyContract } from '../../../core/contract.ts'
import { ContractError } from '../../../core/errors.ts'
import { type OwnedState, laneOf, parsePublicKey, writerReplica } from '../../../core/envelope/index.ts'
import { KIND_ENTRY, grantBytes, itemBytes, paramsHash } from '../../../core/envelope/signed-bytes.ts'
import type { Block } from '../../../core/envelope/state.ts'
import { keys, ownedFor, write } from './owned-fixtures.ts'

const c: AnyContract = ownedFor('or-set')
const ph = paramsHash(c.params!)
const pub = (who: string): Uint8Array => parsePublicKey(keys[who].publicKey)

function refused (fn: () => unknown, code: string, what: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof ContractError && err.code === code && what.test(err.message), `expected ${code} matching ${what}`)
}

/** A state holding alice's add of "a" and bob's add of "b": the honest part. */
function honest (): OwnedState {
  let s: unknown = c.empty()
  s = write(c, s, 'alice', 'add', ['a']).state
  s = write(c, s, 'bob', 'add', ['b']).state
  return c.validate(structuredClone(s)) as OwnedState
}

/** An entry block [wid, gen, lane, [], [[n, delta, sig]]] signed by `signer` for writer `as`. */
function forgedBlock (as: string, signer: string, delta: unknown, opts: { gen?: number, lane?: Uint8Array, n?: number, ph?: Uint8Array } = {}): Block {
  const wid = pub(as).slice(0, 8)
  const gen = opts.gen ?? 0
  const lane = opts.lane ?? laneOf(signer)
  const n = opts.n ?? 1
  const sig = keys[signer].sign(itemBytes(opts.ph ?? ph, KIND_ENTRY, wid, gen, lane, n, delta as never))
  return [wid, gen, lane, [], [[n, delta as never, sig]]]
}

const addOf = (value: string, replica: string, seq = 1): unknown => ({ e: [[value, [replica, seq]]], c: [[replica, [seq, seq]]] })

test('a non-writer\'s signed change is refused, and its op never runs', () => {
  const mallory = writerReplica(pub('mallory'), laneOf('mallory'))
  refused(() => c.validate({ a: [], w: [forgedBlock('mallory', 'mallory', addOf('evil', mallory))] }), 'unauthorized_write', /does not grant/)
  refused(() => write(c, honest(), 'mallory', 'add', ['evil']), 'unauthorized_write', /not a writer/)
  refused(() => write(c, honest(), undefined, 'add', ['evil']), 'unauthorized_write', /needs a signing key/)
  // Mallory signing under bob's writer id: bob's key does not verify it.
  const bobReplica = writerReplica(pub('bob'), laneOf('mallory'))
  refused(() => c.validate({ a: [], w: [forgedBlock('bob', 'mallory', addOf('evil', bobReplica))] }), 'unauthorized_write', /not signed by its writer/)
})

test('a writer\'s signed change replayed with altered content, or under another lane, gen or n, is refused', () => {
  const { delta } = write(c, c.empty(), 'bob', 'add', ['b'])
  const d = structuredClone(delta) as OwnedState
  assert.doesNotThrow(() => c.validate(structuredClone(d)))
  const altered = structuredClone(d); (altered.w[0][4][0][1] as { e: unknown[][] }).e[0][0] = 'forged'
  refused(() => c.validate(altered), 'unauthorized_write', /not signed by its writer/)
  const otherLane = structuredClone(d); otherLane.w[0][2] = laneOf('elsewhere')
  refused(() => c.validate(otherLane), 'unauthorized_write', /./)
  const otherN = structuredClone(d); otherN.w[0][4][0][0] = 2
  refused(() => c.validate(otherN), 'unauthorized_write', /not signed by its writer/)
  const otherGen = structuredClone(d); otherGen.w[0][1] = 1
  refused(() => c.validate(otherGen), 'unauthorized_write', /does not grant/)
})

test('a change replayed into another key is refused: its signature names the key', () => {
  const { delta } = write(c, c.empty(), 'bob', 'add', ['b'])
  const k2 = ownedFor('or-set', 'k2') // same inner contract and writers, another key
  refused(() => k2.validate(structuredClone(delta)), 'unauthorized_write', /not signed by its writer/)
  assert.equal(c.boundKey, 'k')
  assert.equal(k2.boundKey, 'k2')
})

test('only the owner changes writers: a grant signed by anyone else is refused', () => {
  const s = honest()
  refused(() => write(c, s, 'bob', '@writers', [{ grant: [keys.mallory.publicKey] }]), 'unauthorized_write', /only the owner/)
  const sig = keys.mallory.sign(grantBytes(ph, pub('mallory'), 0))
  refused(() => c.validate({ a: [[pub('mallory'), 0, sig]], w: [] }), 'unauthorized_write', /not signed by the key's owner/)
  // ...and with the forged grant, mallory's change is refused too.
  const mallory = writerReplica(pub('mallory'), laneOf('mallory'))
  refused(() => c.validate({ a: [[pub('mallory'), 0, sig]], w: [forgedBlock('mallory', 'mallory', addOf('evil', mallory))] }), 'unauthorized_write', /owner/)
  refused(() => write(c, s, 'alice', '@writers', [{ revoke: [keys.alice.publicKey] }]), 'bad_args', /owner cannot be revoked/)
})

test('a state merged from valid and forged parts is refused whole; the valid parts still arrive alone', () => {
  const valid = honest()
  const mallory = writerReplica(pub('mallory'), laneOf('mallory'))
  const mixed = structuredClone(valid)
  mixed.w.push(forgedBlock('bob', 'mallory', addOf('evil', writerReplica(pub('bob'), laneOf('mallory')))))
  mixed.w.sort((x, y) => Buffer.compare(x[0], y[0]) || x[1] - y[1] || Buffer.compare(x[2], y[2]))
  refused(() => c.validate(mixed), 'unauthorized_write', /not signed/)
  const withMallory = { a: valid.a, w: [...valid.w, forgedBlock('mallory', 'mallory', addOf('evil', mallory))] }
  refused(() => c.validate(withMallory), 'unauthorized_write', /does not grant/)
  const ok = c.validate(structuredClone(valid))
  assert.deepEqual(c.view(ok), ['a', 'b'])
})

test('a writer cannot record events under another writer\'s replica id', () => {
  const alice = writerReplica(pub('alice'), laneOf('alice'))
  // Bob signs, correctly, a change whose dot is alice's.
  refused(() => c.validate({ a: [], w: [forgedBlock('bob', 'bob', addOf('as-alice', alice, 7))] }), 'unauthorized_write', /records events under replica/)
  // ...or a plain store replica id, or one nested under another writer's.
  refused(() => c.validate({ a: [], w: [forgedBlock('bob', 'bob', addOf('x', 'aaaaaaaaaaaaaaaaaaaaaaaa'))] }), 'unauthorized_write', /records events under replica/)
  refused(() => c.validate({ a: [], w: [forgedBlock('bob', 'bob', addOf('x', alice + '.1'))] }), 'unauthorized_write', /records events under replica/)
  // His own lane's id (and ids nested under it, as or-map writes them) are his.
  const own = writerReplica(pub('bob'), laneOf('bob'))
  assert.doesNotThrow(() => c.validate({ a: [], w: [forgedBlock('bob', 'bob', addOf('x', own))] }))
  const g = ownedFor('g-counter')
  const gph = paramsHash(g.params!)
  const wid = pub('bob').slice(0, 8)
  const lane = laneOf('bob')
  const counts = [[alice, 1000]]
  const sig = keys.bob.sign(itemBytes(gph, KIND_ENTRY, wid, 0, lane, 1, counts as never))
  refused(() => g.validate({ a: [], w: [[wid, 0, lane, [], [[1, counts, sig]]]] }), 'unauthorized_write', /records events under replica/)
})

test('a revoked writer\'s changes after the revoke are left out, whatever order things arrive in', () => {
  // Bob's first add reaches alice (the owner); his second does not before she revokes him.
  const b1 = write(c, c.empty(), 'bob', 'add', ['seen'])
  const b2 = write(c, b1.state, 'bob', 'add', ['late'])
  const owner = write(c, c.merge(c.empty(), b1.delta), 'alice', '@writers', [{ revoke: [keys.bob.publicKey] }])
  assert.equal((owner.delta as OwnedState).a.length, 1)
  const deliveries = [
    [b1.delta, b2.delta, owner.delta], [owner.delta, b2.delta, b1.delta], [b2.delta, owner.delta],
    [b2.state, owner.state], [owner.state, b2.state], [owner.delta, b2.state, b1.delta]
  ]
  const results = deliveries.map(list => list.reduce((s: unknown, d) => c.merge(s, c.validate(structuredClone(d))), c.empty()))
  for (const r of results) {
    assert.deepEqual(c.view(r), ['seen'])
    assert.deepEqual(encode(r), encode(results[0]), 'every order gives the same state')
  }
  // Bob can no longer write; granted again, he writes under a new gen.
  refused(() => write(c, results[0], 'bob', 'add', ['again']), 'unauthorized_write', /not a writer/)
  const regrant = write(c, results[0], 'alice', '@writers', [{ grant: [keys.bob.publicKey] }])
  const again = write(c, regrant.state, 'bob', 'add', ['again'])
  assert.deepEqual(c.view(again.state), ['seen', 'again'])
  assert.equal((again.delta as OwnedState).w[0][1], 1, 'gen 1')
  const dotOf = (d: unknown): string => ((d as OwnedState).w[0][4][0][1] as { e: Array<[string, [string, number]]> }).e[0][1][0]
  assert.equal(dotOf(again.delta), writerReplica(pub('bob'), laneOf('bob'), 1), 'a new gen writes under a new replica id')
  assert.notEqual(dotOf(again.delta), dotOf(b2.delta), 'so it never reuses a dot its revoke left out')
  assert.equal((again.delta as OwnedState).a.length, 1, 'the change carries its grant, so it verifies alone')
  assert.deepEqual(c.view(c.merge(results[0], c.validate(structuredClone(again.delta)))), ['seen', 'again'])
})
