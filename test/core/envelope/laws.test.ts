// The owned envelope obeys every law around several built-ins, on honest histories with grants, revokes and checkpoints.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { builtinLawInputs } from '../../../contracts/law-inputs.ts'
import type { OwnedState } from '../../../core/envelope/index.ts'
import type { JsonValue } from '../../../core/json.ts'
import { historyArb, runHistory } from '../../../core/laws/history.ts'
import { type LawName, LAWS, type OpCall, checkLaws } from '../../../core/laws.ts'
import { keys, ownedFor, signedByReplica } from './owned-fixtures.ts'

/** Inner op calls (the built-in's law inputs), and the owner's grants and revokes of bob and carol. */
function calls (inner: string): fc.Arbitrary<OpCall> {
  const ops = builtinLawInputs[inner].ops ?? {}
  const innerCalls = fc.oneof(...Object.entries(ops).map(([op, args]) => args.map(a => ({ op, args: [...a] as JsonValue[] }))))
  const who = fc.constantFrom(keys.bob.publicKey, keys.carol.publicKey)
  const writers = fc.tuple(fc.constantFrom('grant', 'revoke'), who).map(([kind, pub]): OpCall => ({ op: '@writers', args: [{ [kind]: [pub] }] }))
  return fc.oneof({ arbitrary: innerCalls, weight: 5 }, { arbitrary: writers, weight: 2 })
}

// op-model: the inner models know nothing of writers (a non-writer's refused op, a revoke's dropped items).
const laws: LawName[] = LAWS.filter(l => l !== 'op-model')

for (const inner of ['g-counter', 'or-set', 'lww-register', 'log', 'pn-counter', 'mv-register']) {
  test(`owned around ${inner} obeys every law`, () => {
    // Checkpoints after a couple of entries (the default waits for 1 KiB), so short histories hold them.
    const c = signedByReplica(ownedFor(inner, 'k', undefined, 150))
    const report = checkLaws(c, { op: calls(inner) }, { numRuns: 60, laws, maxSteps: 16 })
    assert.deepEqual(report.failures.map(f => `${f.law}: ${f.message}\n  history: ${f.counterexample}\n  path: ${f.path}`), [])
  })
}

test('the law histories hold checkpoints, grants, revokes and re-grants (else the laws above prove little)', () => {
  const c = signedByReplica(ownedFor('or-set', 'k', undefined, 150))
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
