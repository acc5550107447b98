import assert from 'node:assert/strict'
import { it } from 'node:test'
import fc from 'fast-check'
import { ContractError } from '../../core/errors.ts'
import { META_KEY, keyBytes, keyOfRecord, logKey, logRange, prefixBytes, recordKey, recordRange, seqOfLog, tailKey } from '../../core/key-layout.ts'

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const cmp = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b)
const inRange = (k: Uint8Array, r: { gte: Uint8Array, lt: Uint8Array }): boolean => cmp(k, r.gte) >= 0 && cmp(k, r.lt) < 0
// Keys drawn from a tiny alphabet with NUL and multi-byte characters, so prefixes and escapes collide often.
const userKey = fc.string({ unit: fc.constantFrom('\u0000', '\u0001', 'a', 'b', '\u00ff', '😀', '\uffff'), minLength: 1, maxLength: 6 })

it('record keys round-trip and sort like the UTF-8 bytes of the keys', () => {
  fc.assert(fc.property(userKey, userKey, (a, b) => {
    assert.equal(keyOfRecord(recordKey(keyBytes(a))), a)
    assert.equal(Math.sign(cmp(recordKey(keyBytes(a)), recordKey(keyBytes(b)))), Math.sign(cmp(utf8(a), utf8(b))))
  }), { numRuns: 500 })
})

it('a prefix range holds exactly the keys that start with the prefix', () => {
  fc.assert(fc.property(fc.oneof(userKey, fc.constant('')), userKey, (prefix, key) => {
    assert.equal(inRange(recordKey(keyBytes(key)), recordRange(prefixBytes(prefix))), key.startsWith(prefix))
  }), { numRuns: 1000 })
})

it('a log range holds exactly one key\'s entries after a seq, in seq order', () => {
  fc.assert(fc.property(userKey, userKey, fc.nat({ max: 2 ** 40 }), fc.nat({ max: 2 ** 40 }), (a, b, seq, after) => {
    const k = logKey(keyBytes(a), seq + 1)
    assert.equal(seqOfLog(k), seq + 1)
    assert.equal(inRange(k, logRange(keyBytes(b), after)), a === b && seq + 1 > after)
    assert.ok(cmp(logKey(keyBytes(a), seq + 1), logKey(keyBytes(a), seq + 2)) < 0)
  }), { numRuns: 1000 })
  assert.equal(seqOfLog(logKey(keyBytes('k'), Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER)
})

it('records, logs, tails and meta never share keys; each key has its own tail', () => {
  fc.assert(fc.property(userKey, userKey, fc.integer({ min: 1, max: 1000 }), (a, b, seq) => {
    const tags = new Set([recordKey(keyBytes(a))[0], logKey(keyBytes(a), seq)[0], tailKey(keyBytes(a))[0], META_KEY[0]])
    assert.equal(tags.size, 4)
    assert.equal(cmp(tailKey(keyBytes(a)), tailKey(keyBytes(b))) === 0, a === b)
    assert.ok(!inRange(tailKey(keyBytes(a)), recordRange(prefixBytes(''))))
    assert.ok(!inRange(tailKey(keyBytes(a)), logRange(keyBytes(b))))
  }), { numRuns: 1000 })
})

it('bad keys are refused with bad_key', () => {
  const bad: unknown[] = ['', 'x'.repeat(1025), '\ud800', 'a\udc00b', 'é'.repeat(513), 42, null, undefined]
  for (const k of bad) {
    assert.throws(() => keyBytes(k), (err: unknown) => err instanceof ContractError && err.code === 'bad_key', String(k).slice(0, 20))
  }
  assert.equal(keyBytes('x'.repeat(1024)).length, 1024)
  assert.equal(keyBytes('😀').length, 4) // a surrogate pair is fine
  assert.equal(prefixBytes('').length, 0)
})
