import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { HASH_BYTES } from '../../../core/sync/key-index.ts'
import { LtHash } from '../../../core/sync/lthash.ts'
import { PeerScopes } from '../../../core/sync/peer-scopes.ts'

const hash = (n: number): Uint8Array => Uint8Array.from({ length: HASH_BYTES }, (_, i) => (n * 31 + i * 7) & 0xff)
const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f')
type Event = { op: 'learn', keys: string[] } | { op: 'commit', key: string, n: number }
const event: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ op: fc.constant('learn' as const), keys: fc.array(key, { maxLength: 4 }) }),
  fc.record({ op: fc.constant('commit' as const), key, n: fc.nat(1000) })
)

test('a scope\'s fingerprint is the accumulator digest of our current hashes over the keys the peer showed it holds', () => {
  fc.assert(fc.property(fc.array(event, { maxLength: 40 }), events => {
    const scopes = new PeerScopes()
    const ours = new Map<string, Uint8Array>()
    const learned = new Set<string>()
    scopes.partial('p')
    for (const e of events) {
      if (e.op === 'learn') {
        scopes.learn('p', e.keys, k => ours.get(k))
        for (const k of e.keys) learned.add(k)
      } else {
        ours.set(e.key, hash(e.n))
        scopes.committed(e.key, hash(e.n))
      }
    }
    const expected = new LtHash()
    for (const k of learned) { const h = ours.get(k); if (h !== undefined) expected.add(h) }
    assert.deepEqual(scopes.fingerprint('p'), expected.digest())
  }))
})

test('only partial peers have scopes; forgetting one drops what was learned', () => {
  const scopes = new PeerScopes()
  scopes.learn('full', ['a'], () => hash(1))
  assert.equal(scopes.isPartial('full'), false)
  assert.equal(scopes.fingerprint('full'), undefined)
  scopes.partial('p')
  scopes.learn('p', ['a'], () => hash(1))
  const one = new LtHash()
  one.add(hash(1))
  assert.deepEqual(scopes.fingerprint('p'), one.digest())
  scopes.partial('p') // a later digest keeps what was learned
  assert.deepEqual(scopes.fingerprint('p'), one.digest())
  scopes.forget('p')
  scopes.partial('p')
  assert.deepEqual(scopes.fingerprint('p'), new LtHash().digest())
})
