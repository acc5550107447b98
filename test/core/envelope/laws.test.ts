// The owned envelope obeys every law around several built-ins, on honest histories with grants, revokes and checkpoints.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { builtinLawInputs } from '../../../contracts/law-inputs.ts'
import { decode, encode } from '../../../core/codec.ts'
import type { OwnedState } from '../../../core/envelope/index.ts'
import type { JsonValue } from '../../../core/json.ts'
import { historyArb, runHistory } from '../../../core/laws/history.ts'
import { type LawModel, type OpCall, checkLaws } from '../../../core/laws.ts'
import { keys, ownedFor, signedByReplica } from './owned-fixtures.ts'

/** Inner op calls (the built-in's law inputs), and the owner's grants and revokes of bob and carol. */
function calls (inner: string): fc.Arbitrary<OpCall> {
  const ops = builtinLawInputs[inner].ops ?? {}
  const innerCalls = fc.oneof(...Object.entries(ops).map(([op, args]) => args.map(a => ({ op, args: [...a] as JsonValue[] }))))
  const who = fc.constantFrom(keys.bob.publicKey, keys.carol.publicKey)
  const writers = fc.tuple(fc.constantFrom('grant', 'revoke'), who).map(([kind, pub]): OpCall => ({ op: '@writers', args: [{ [kind]: [pub] }] }))
  return fc.oneof({ arbitrary: innerCalls, weight: 5 }, { arbitrary: writers, weight: 2 })
}

/** The inner contract's model, on one replica (a revoke may leave out what the owner had not seen, so no merge): `@writers` changes no value. */
function modelOf (inner: string): LawModel | undefined {
  const m = builtinLawInputs[inner].model
  // The log's model shows the writing replica's id; here that is the writer's own (derived from key, lane and gen).
  if (m === undefined || inner === 'log') return undefined
  return { init: () => m.init(), apply: (x, op, args, ctx) => op === '@writers' ? x : m.apply(x, op, args, ctx), view: x => m.view(x) }
}

for (const inner of ['g-counter', 'or-set', 'lww-register', 'log', 'pn-counter', 'mv-register', 'g-set', 'or-map']) {
  test(`owned around ${inner} obeys every law`, () => {
    // Checkpoints every 2 like items (the default is 8), so short histories hold them, nested too.
    const c = signedByReplica(ownedFor(inner, 'k', undefined, 2))
    const report = checkLaws(c, { op: calls(inner), model: modelOf(inner) }, { numRuns: 100, maxSteps: 16 })
    assert.deepEqual(report.failures.map(f => `${f.law}: ${f.message}\n  history: ${f.counterexample}\n  path: ${f.path}`), [])
  })
}

test('the law histories hold checkpoints, grants, revokes and re-grants (else the laws above prove little)', () => {
  const c = signedByReplica(ownedFor('or-set', 'k', undefined, 2))
  const seen = { checkpoints: 0, grants: 0, revokes: 0, regrants: 0, entries: 0 }
  for (const h of fc.sample(historyArb(c, { op: calls('or-set') }, { maxSteps: 16 }), { numRuns: 200, seed: 7 })) {
    for (const s of runHistory(c, h).finals as OwnedState[]) {
      for (const b of s.w) { seen.checkpoints += b[3].length; seen.entries += b[4].length }
      for (const r of s.a) {
        if (r.length === 4) seen.revokes++; else seen.grants++
        if (r.length === 3 && r[1] > 0) seen.regrants++
      }
    }
  }
  for (const [what, n] of Object.entries(seen)) assert.ok(n > 0, `no ${what} in 200 histories: ${JSON.stringify(seen)}`)
})

test('the cached fold (seeded by merges) always equals a fresh fold of the same state', () => {
  for (const inner of ['or-set', 'g-counter', 'log']) {
    const c = signedByReplica(ownedFor(inner, 'k', undefined, 2))
    for (const h of fc.sample(historyArb(c, { op: calls(inner) }, { maxSteps: 16 }), { numRuns: 150, seed: 3 })) {
      for (const s of runHistory(c, h).all) {
        const fresh = c.validate(decode(encode(s))) // new objects: nothing cached
        assert.deepEqual(encode(c.view(s)), encode(c.view(fresh)), `${inner}: view of ${JSON.stringify(c.view(s))} vs fresh ${JSON.stringify(c.view(fresh))}`)
      }
    }
  }
})
