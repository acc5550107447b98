import { test } from 'node:test'
import assert from 'node:assert/strict'
import { type ValueEntry, type ValueSet, valueEntryKind } from '../../contracts/g-set.ts'
import { orSet } from '../../contracts/or-set.ts'
import { encode } from '../../core/codec.ts'
import type { OpContext } from '../../core/contract.ts'
import { dotSetOf } from '../../core/dots.ts'
import { ContractError } from '../../core/errors.ts'
import type { JsonValue } from '../../core/json.ts'
import { checkLaws } from '../../core/laws.ts'
import { builtinLawInputs } from '../../contracts/law-inputs.ts'
import { ISSUE_PAIR, assertForgedJoin } from '../helpers/forged-dots.ts'

const ctx = (replica: string): OpContext => ({ replica, now: 1_700_000_000_000 })

function run (s: ValueSet, op: 'add' | 'remove', replica: string, value: JsonValue): ValueSet {
  const d = orSet.ops[op](s, [value], ctx(replica))
  return d === undefined ? s : orSet.merge(s, d)
}

/** Brings `to` up to date with `from` the way peers do: summary, then delta. */
function sync (from: ValueSet, to: ValueSet): ValueSet {
  const d = orSet.delta(from, orSet.summarize(to))
  return d === undefined ? to : orSet.merge(to, orSet.validate(d))
}

function throwsCode (fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof ContractError && err.code === code)
}

test('or-set obeys every law (1000 runs each)', () => {
  const report = checkLaws(orSet, builtinLawInputs['or-set'], { numRuns: 1000 })
  assert.deepEqual(report.failures.map(f => `${f.law}: ${f.message}\n  history: ${f.counterexample}\n  seed: ${f.seed}`), [])
})

test('add wins over a concurrent remove, whichever way the replicas merge', () => {
  const base = run(orSet.empty(), 'add', 'alice', 'x')
  const removed = run(base, 'remove', 'alice', 'x')
  const readded = run(base, 'add', 'bob', 'x')
  assert.deepEqual(orSet.view(removed), [])
  assert.deepEqual(orSet.view(orSet.merge(removed, readded)), ['x'])
  assert.deepEqual(orSet.view(orSet.merge(readded, removed)), ['x'])
  assert.deepEqual(orSet.view(sync(removed, readded)), ['x'])
  assert.deepEqual(orSet.view(sync(readded, removed)), ['x'])
})

test('a remove that has seen the add removes it, everywhere; a later add brings it back', () => {
  const alice = run(run(orSet.empty(), 'add', 'alice', 'x'), 'add', 'alice', 'y')
  let bob = sync(alice, orSet.empty())
  bob = run(bob, 'remove', 'bob', 'x')
  assert.deepEqual(orSet.view(bob), ['y'])
  const both = sync(bob, alice)
  assert.deepEqual(orSet.view(both), ['y'])
  assert.deepEqual(orSet.view(orSet.merge(alice, bob)), ['y'])
  assert.equal(orSet.ops.remove(both, ['x'], ctx('alice')), undefined)
  const back = run(both, 'add', 'alice', 'x')
  assert.deepEqual(orSet.view(back), ['x', 'y'])
  assert.deepEqual(orSet.view(sync(back, bob)), ['x', 'y'])
})

test('a remove leaves no tombstone entry but changes the summary', () => {
  const a = run(orSet.empty(), 'add', 'alice', 'x')
  const b = run(a, 'remove', 'alice', 'x')
  assert.equal(b.e.length, 0)
  assert.notDeepEqual(orSet.summarize(b), orSet.summarize(a))
  assert.deepEqual(orSet.summarize(b), { c: dotSetOf([['alice', 1], ['alice', 2]]), a: [] })
})

test('re-adding a present value replaces its entries with one fresh entry', () => {
  const a = run(run(orSet.empty(), 'add', 'alice', 'x'), 'add', 'alice', 'x')
  assert.deepEqual(a.e, [['x', ['alice', 2]]])
})

test('validate rejects garbage with invalid_state; ops refuse bad args with bad_args', () => {
  const good = run(run(orSet.empty(), 'add', 'alice', 'a'), 'add', 'alice', 'b')
  assert.deepEqual(orSet.validate(good), good)
  const garbage: unknown[] = [
    undefined, 'x', [], { e: [] }, { e: [], c: [], f: null }, { e: 'no', c: [] },
    { e: [[1, 2, 3]], c: good.c },
    { e: [...good.e].reverse(), c: good.c }, // unsorted
    { e: [['a', ['zed', 1]]], c: good.c }, // dot not in context
    { e: [['a', ['alice', 1]]], c: [['alice', [2, 1]]] } // broken context
  ]
  for (const x of garbage) throwsCode(() => orSet.validate(x), 'invalid_state')
  for (const op of ['add', 'remove']) {
    for (const args of [[], ['a', 'b'], [Number.POSITIVE_INFINITY]]) throwsCode(() => orSet.ops[op](good, args as JsonValue[], ctx('alice')), 'bad_args')
  }
})

test('a 10,000-element or-set with removals has a summary under 5% of its state', () => {
  const entries: ValueEntry[] = []
  for (let i = 0; i < 10_000; i++) entries.push([{ id: i, name: `user ${i}` }, [['alice', 'bob'][i % 2], Math.floor(i / 2) + 1]])
  entries.sort(valueEntryKind.compare)
  let s = orSet.validate({ e: entries, c: dotSetOf(entries.map(e => e[1])) })
  for (let i = 0; i < 100; i++) s = run(s, 'remove', 'carol', { id: i * 7, name: `user ${i * 7}` })
  assert.equal((orSet.view(s) as JsonValue[]).length, 9_900)
  const stateBytes = encode(s).length
  const summaryBytes = encode(orSet.summarize(s)).length
  assert.ok(summaryBytes <= 0.05 * stateBytes, `summary ${summaryBytes} B vs state ${stateBytes} B`)
})

test('forged states with other content under one dot (the issue\'s evil/honest pair) merge to one valid state, in any order', () => {
  const [evil, honest] = ISSUE_PAIR.map(x => orSet.validate(x))
  const removed = run(honest, 'remove', 'bob', 'honest')
  const merged = assertForgedJoin(orSet, [evil, honest, removed, run(evil, 'add', 'carol', 'evil'), run(honest, 'add', 'bob', 'x')])
  assert.deepEqual(orSet.view(merged), ['honest'])
  // A remove of the dot removes it whatever content the other side holds under it.
  assert.deepEqual(orSet.view(orSet.merge(evil, removed)), [])
  assert.deepEqual(orSet.view(orSet.merge(removed, evil)), [])
  assert.deepEqual(orSet.summarize(evil), orSet.summarize(honest), 'equal summaries: sync cannot tell them apart')
})
