import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { encode } from '../../../core/codec.ts'
import { ProtocolError, boundsAt, boundsWire, contractName, keyList, keyedList, keyedWire, keysWire, ref, refWire, sid, sidWire } from '../../../core/sync/wire.ts'
import { CONTRACT_ID } from '../../../core/registry.ts'

const text = fc.string({ maxLength: 12, unit: fc.constantFrom('a', 'b', 'k', '/', '0', '9', 'é', '日', '😀') })
const key = text.filter(k => k.length > 0)
const sorted = (ks: string[]): string[] => [...new Set(ks)].sort()

test('front-coded keys round-trip, in any order, and never split a surrogate pair', () => {
  fc.assert(fc.property(fc.array(key, { maxLength: 30 }), text, (keys, first) => {
    const wire = keysWire(keys, first)
    assert.deepEqual(keyList(wire, 'keys', Infinity, first), keys)
    for (let i = 1; i < wire.length; i += 2) assert.ok((wire[i] as string).isWellFormed())
  }), { numRuns: 500 })
})

test('sorted neighbours cost little more than their differing tails', () => {
  const keys = Array.from({ length: 1000 }, (_, i) => `user/profile/${String(i).padStart(6, '0')}`)
  const plain = encode(keys).length
  const coded = encode(keysWire(keys)).length
  assert.ok(coded * 5 < plain, `${coded} bytes front-coded vs ${plain}`)
  assert.ok(coded / keys.length <= 4, `${coded / keys.length} bytes a key`)
})

test('a keyed list names each contract once and drops the index when there is one', () => {
  fc.assert(fc.property(fc.array(fc.tuple(key, fc.constantFrom('or-set', 'g-counter', 'log'), fc.nat()), { maxLength: 20 }), items => {
    const keyed = items.map(([k, id, v]) => ({ key: k, contract: { id }, value: v }))
    const [refs, flat] = keyedWire(keyed)
    assert.equal(refs.length, new Set(items.map(i => i[1])).size)
    assert.equal(flat.length, keyed.length * (refs.length > 1 ? 4 : 3))
    assert.deepEqual(keyedList(refs, flat, 'items'), keyed)
  }), { numRuns: 300 })
})

test('range bounds round-trip front-coded along a list, and hi must follow lo', () => {
  fc.assert(fc.property(fc.array(key, { minLength: 1, maxLength: 12 }), fc.boolean(), (ks, open) => {
    const cuts = sorted(ks)
    const ranges = cuts.map((lo, i) => ({ lo, hi: i + 1 < cuts.length ? cuts[i + 1] : open ? null : `${lo}~` }))
    let prev = ''
    for (const r of ranges) {
      const w = boundsWire(r.lo, r.hi, prev)
      assert.deepEqual(boundsAt(w, prev), [r.lo, r.hi])
      prev = r.hi ?? r.lo
    }
  }), { numRuns: 300 })
  assert.throws(() => boundsAt([0, 'b', 0, 'a'], ''), ProtocolError)
  assert.throws(() => boundsAt([0, 'b', 1, null], ''), /range end/)
})

test('a session id is one number: 2n, plus 1 from the initiator', () => {
  fc.assert(fc.property(fc.nat({ max: 2 ** 50 }), fc.boolean(), (n, fromInitiator) => {
    assert.deepEqual(sid(sidWire({ n, fromInitiator })), { n, fromInitiator })
  }))
  assert.equal(sidWire({ n: 5, fromInitiator: true }), 11)
  assert.throws(() => sid(-1), ProtocolError)
})

test('a versioned binding travels as "id::version", a valid id for peers that know nothing of versions; an unversioned one as before', () => {
  assert.equal(refWire({ id: 'max-register' }), 'max-register')
  assert.deepEqual(refWire({ id: 'log', params: { keepLast: 5 } }), ['log', { keepLast: 5 }])
  assert.equal(refWire({ id: 'max-register', version: '2' }), 'max-register::2')
  assert.deepEqual(refWire({ id: 'log', params: { keepLast: 5 }, version: '1.0' }), ['log::1.0', { keepLast: 5 }])
  // What a peer before versions checks a ref's id against (the registry's pattern, unchanged): it decodes, and names a contract it lacks.
  const OLD_CONTRACT_ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/
  assert.equal(String(CONTRACT_ID), String(OLD_CONTRACT_ID))
  assert.ok(OLD_CONTRACT_ID.test(contractName({ id: 'a'.repeat(29), version: 'b'.repeat(32) })))
  for (const b of [{ id: 'max-register' }, { id: 'max-register', version: '2' }, { id: 'log', params: { keepLast: 5 }, version: 'v-1.0_rc' }, { id: 'a::b::c' }, { id: 'a::' }]) {
    assert.deepEqual(ref(refWire(b)), b, JSON.stringify(b))
  }
  assert.deepEqual(ref('max-register::2'), { id: 'max-register', version: '2' })
  assert.throws(() => ref('max-register@2'), ProtocolError, 'what the id pattern refuses is still malformed')
})
