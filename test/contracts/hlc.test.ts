import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { ContractError } from '../../core/errors.ts'
import { type Hlc, compareHlc, nextStamp } from '../../contracts/hlc.ts'

const T = 1_700_000_000_000
const DRIFT = 60_000

test('a local stamp is at least now, never past now + maxDriftMs, and after the held stamp whenever that is within the bound', () => {
  const held = fc.option(fc.tuple(
    fc.oneof(fc.integer({ min: T - 100_000, max: T + 200_000 }), fc.constantFrom(T + DRIFT, T + DRIFT + 1, Number.MAX_SAFE_INTEGER)),
    fc.oneof(fc.nat({ max: 5 }), fc.constant(Number.MAX_SAFE_INTEGER))
  ), { nil: null })
  fc.assert(fc.property(held, fc.integer({ min: T - 1000, max: T + 1000 }), (h: Hlc | null, now) => {
    const s = nextStamp(h, now, DRIFT, 'set')
    assert.ok(s[0] >= now && s[0] <= now + DRIFT, `wall ${s[0]} for now ${now}`)
    assert.ok(Number.isSafeInteger(s[1]) && s[1] >= 0)
    if (h !== null && h[0] <= now + DRIFT && !(h[0] === now + DRIFT && h[1] === Number.MAX_SAFE_INTEGER)) {
      assert.ok(compareHlc(s, h) > 0, `stamp ${s} is not after held ${h}`)
    }
  }), { numRuns: 2000 })
})

test('a clock that is not a time is refused with bad_args', () => {
  for (const now of [Number.NaN, -5, Infinity]) {
    assert.throws(() => nextStamp(null, now, DRIFT, 'append'), (err: unknown) => err instanceof ContractError && err.code === 'bad_args' && /append: the clock reads/.test(err.message))
  }
})
