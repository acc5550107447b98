// Each broken contract of test/fixtures/broken-contracts/ is refused by the default check (200 runs per law,
// the default seed), as `monoidb daemon --contract` and `monoidb check-contract` run it, with the module's
// own lawInputs; each by the law named here, first among those it breaks. The time each takes is printed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { checkLaws, inexactNumber, type LawName } from '../../core/laws.ts'
import { type ContractModule, importContractModule } from '../../node/contract-modules.ts'

const fixture = (name: string): string => new URL(`../fixtures/broken-contracts/${name}`, import.meta.url).pathname

const cases: Array<[file: string, law: LawName, why: string]> = [
  ['merge-by-sum.ts', 'merge-idempotent', 'merge(a, a) doubles a'],
  ['two-argument-op.ts', 'op-inputs', 'add(n, why) refuses the one generated value it is fed'],
  ['mutating-merge.ts', 'no-mutation', 'merge writes the join into its first argument'],
  ['reused-nested-identity.ts', 'op-model', 'a write racing a remove loses a value when nested dots are reused'],
  ['inc-forgets-count.ts', 'op-model', 'inc(1) twice shows 1'],
  ['depth-only.ts', 'merge-associative', 'merge drops a letter only once both sides hold three'],
  ['summary-drops-writer.ts', 'delta-minimal', 'the summary leaves out a writer'],
  ['tie-by-argument-order.ts', 'merge-commutative', 'equal stamps keep the first argument'],
  ['last-arrival-wins.ts', 'merge-commutative', 'merge keeps whatever came second'],
  ['validate-accepts-unreachable.ts', 'validate-rejects', 'validate accepts unsorted counts'],
  ['inexact-view.ts', 'view-exact', 'a forged pair of 2^53 − 1 counts sums past what a number holds'],
  ['first-entry-wins.ts', 'merge-forged', 'two contents under one dot: merge keeps the first argument\'s']
]

for (const [file, law, why] of cases) {
  test(`${file} is refused by ${law}: ${why}`, async t => {
    const mod: ContractModule = await importContractModule(fixture(file))
    assert.equal(mod.contracts.length, 1)
    const [c] = mod.contracts
    const started = performance.now()
    const report = checkLaws(c, mod.lawInputs[c.id] ?? {})
    t.diagnostic(`${c.id}: refused in ${Math.round(performance.now() - started)} ms, by ${report.failures.map(f => f.law).join(', ')}`)
    assert.equal(report.ok, false, `${file} passed the check`)
    assert.equal(report.failures[0].law, law, `first law broken: ${report.failures[0].law}: ${report.failures[0].message}`)
  })
}

test('two-argument-op.ts: given generators for add(n, why), the sum is caught by merge-idempotent', async () => {
  const { contracts: [c] } = await importContractModule(fixture('two-argument-op.ts'))
  const report = checkLaws(c, { ops: { add: fc.tuple(fc.integer({ min: 1, max: 9 }), fc.constantFrom('gift', 'refund')) } })
  assert.equal(report.failures[0]?.law, 'merge-idempotent')
})

test('inexact-view.ts: validate accepts the issue\'s forged state, and its view is not the sum', async () => {
  const { contracts: [c] } = await importContractModule(fixture('inexact-view.ts'))
  const MAX = Number.MAX_SAFE_INTEGER
  const forged = c.validate({ p: [['evil1', MAX], ['evil2', MAX]], n: [] })
  const merged = c.merge(forged, c.validate({ p: [['alice', 5]], n: [] }))
  // The sum is 2·(2^53 − 1) + 5 = 18014398509481987; as a number it is 18014398509481988.
  assert.equal(BigInt(MAX) * 2n + 5n, 18014398509481987n)
  assert.equal(c.view(merged), 18014398509481988)
  assert.equal(inexactNumber(c.view(merged), merged), 18014398509481988)
  assert.equal(inexactNumber(c.view(forged), forged), 2 * MAX, 'past 2^53 − 1 already, though this one is representable')
})

test('first-entry-wins.ts: the issue\'s forged pair merges differently by argument order, and merge-forged says so', async () => {
  const { contracts: [c] } = await importContractModule(fixture('first-entry-wins.ts'))
  const evil = c.validate({ e: [['evil', ['carol', 1]]], c: [['carol', [1, 1]]] })
  const honest = c.validate({ e: [['honest', ['carol', 1]]], c: [['carol', [1, 1]]] })
  assert.deepEqual(c.view(c.merge(evil, honest)), ['evil'])
  assert.deepEqual(c.view(c.merge(honest, evil)), ['honest'])
  const report = checkLaws(c, {}, { laws: ['merge-forged'] })
  assert.match(report.failures[0]?.message ?? '', /merge\(a, b\) = .* ≠ merge\(b, a\)/)
})
