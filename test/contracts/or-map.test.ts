import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { gSet } from '../../contracts/g-set.ts'
import { log } from '../../contracts/log.ts'
import { lwwRegister } from '../../contracts/lww-register.ts'
import { type MapEntry, type OrMapState, createOrMap } from '../../contracts/or-map.ts'
import { orSet } from '../../contracts/or-set.ts'
import { pnCounter } from '../../contracts/pn-counter.ts'
import { encode } from '../../core/codec.ts'
import type { AnyContract } from '../../core/contract.ts'
import { dotSetOf } from '../../core/dots.ts'
import { ContractError } from '../../core/errors.ts'
import type { JsonValue } from '../../core/json.ts'
import { checkLaws } from '../../core/laws.ts'
import { builtinLawInputs } from '../../contracts/law-inputs.ts'
import { maxRegister } from '../fixtures/max-register.ts'

const nested = new Map<string, AnyContract>([gSet, orSet, maxRegister, pnCounter, lwwRegister].map(c => [c.id, c]))
const orMap = createOrMap(id => nested.get(id))
const T = 1_700_000_000_000

function run (s: OrMapState, replica: string, op: 'apply' | 'remove', ...args: JsonValue[]): OrMapState {
  const d = orMap.ops[op](s, args, { replica, now: T })
  return d === undefined ? s : orMap.merge(s, d)
}

function sync (from: OrMapState, to: OrMapState): OrMapState {
  const d = orMap.delta(from, orMap.summarize(to))
  return d === undefined ? to : orMap.merge(to, orMap.validate(d))
}

function throwsCode (fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof ContractError && err.code === code)
}

test('or-map obeys every law (1000 runs each)', () => {
  const report = checkLaws(orMap, builtinLawInputs['or-map'], { numRuns: 1000 })
  assert.deepEqual(report.failures.map(f => `${f.law}: ${f.message}\n  history: ${f.counterexample}\n  seed: ${f.seed}`), [])
})

/**
 * A model of or-map's meaning across replicas, for nested contracts whose ops commute (g-set adds,
 * pn-counter incs and decs): each write remembers the ops its replica had seen; a field's live writes
 * are those no later op on the field has seen; a live write carries its own op and everything the
 * live writes it saw carried; the field shows the nested ops carried by its live writes.
 */
type CausalOp = { id: string, field: string, contract: string, op: string, args: JsonValue[], past: string[] }
type CausalModel = Record<string, CausalOp>
const liveWrites = (ops: readonly CausalOp[], field: string): CausalOp[] => {
  const onField = ops.filter(o => o.field === field)
  return onField.filter(w => w.op !== 'remove' && !onField.some(o => o.past.includes(w.id)))
}
const carriedOps = (m: CausalModel, w: CausalOp, out: Map<string, CausalOp>): void => {
  out.set(w.id, w)
  for (const b of liveWrites(w.past.map(id => m[id]), w.field)) carriedOps(m, b, out)
}
function causalFieldView (m: CausalModel, field: string): JsonValue | undefined {
  const writes = liveWrites(Object.values(m), field)
  if (writes.length === 0) return undefined
  const ops = new Map<string, CausalOp>()
  for (const w of writes) carriedOps(m, w, ops)
  const all = [...ops.values()]
  if (writes[0].contract === 'pn-counter') return all.reduce((n, o) => n + (o.op === 'dec' ? -1 : 1) * (o.args[0] as number), 0)
  return [...new Set(all.map(o => o.args[0] as string))].sort()
}
const causalMapModel = {
  init: (): CausalModel => ({}),
  apply (m: CausalModel, op: string, args: readonly JsonValue[], ctx: { replica: string }): CausalModel {
    const field = args[0] as string
    const current = causalFieldView(m, field)
    const [, contract, nestedOp, nestedArgs] = op === 'apply' ? args as [string, string, string, JsonValue[]] : [field, '', 'remove', []]
    // Writes that change nothing make no delta, so they are no ops here either.
    if (op === 'remove' ? current === undefined : contract === 'g-set' ? (current as string[] | undefined)?.includes(nestedArgs[0] as string) === true : nestedArgs[0] === 0) return m
    const id = `${ctx.replica}#${Object.keys(m).filter(k => k.startsWith(`${ctx.replica}#`)).length + 1}`
    return { ...m, [id]: { id, field, contract, op: nestedOp, args: nestedArgs, past: Object.keys(m) } }
  },
  merge: (a: CausalModel, b: CausalModel): CausalModel => ({ ...a, ...b }),
  view (m: CausalModel): JsonValue {
    const out: Record<string, JsonValue> = {}
    for (const field of new Set(Object.values(m).map(o => o.field))) {
      const v = causalFieldView(m, field)
      if (v !== undefined) out[field] = v
    }
    return out
  }
}

test('writes racing removes across replicas keep what add-wins promises: nested writer identities never collide (a causal model, every replica and every two-branch split)', () => {
  // test/fixtures/broken-contracts/reused-nested-identity.ts, which reuses them, fails this same check.
  const report = checkLaws(orMap, {
    ops: {
      apply: fc.oneof(
        fc.constantFrom('x', 'y', 'z').map((v): JsonValue[] => ['s', 'g-set', 'add', [v]]),
        fc.tuple(fc.constantFrom('inc', 'dec'), fc.nat({ max: 3 })).map(([op, n]): JsonValue[] => ['n', 'pn-counter', op, [n]])
      ),
      remove: fc.constantFrom<JsonValue[]>(['s'], ['n'])
    },
    model: causalMapModel
  }, { numRuns: 300, laws: ['op-model'] })
  assert.deepEqual(report.failures.map(f => `${f.law}: ${f.message}`), [])
})

test('a write concurrent with a remove keeps the field, with the writer\'s whole value', () => {
  const base = run(orMap.empty(), 'alice', 'apply', 'tags', 'or-set', 'add', ['x'])
  const removed = run(base, 'alice', 'remove', 'tags')
  const written = run(sync(base, orMap.empty()), 'bob', 'apply', 'tags', 'or-set', 'add', ['y'])
  assert.deepEqual(orMap.view(removed), {})
  for (const s of [orMap.merge(removed, written), orMap.merge(written, removed), sync(removed, written), sync(written, removed)]) {
    assert.deepEqual(orMap.view(s), { tags: ['x', 'y'] })
  }
  // A remove that has seen every write removes the field everywhere.
  const gone = run(orMap.merge(removed, written), 'carol', 'remove', 'tags')
  assert.deepEqual(orMap.view(sync(gone, written)), {})
})

test('an or-set inside the map keeps add-wins semantics', () => {
  const base = run(orMap.empty(), 'alice', 'apply', 'tags', 'or-set', 'add', ['x'])
  const alice = run(base, 'alice', 'apply', 'tags', 'or-set', 'remove', ['x'])
  const bob = run(sync(base, orMap.empty()), 'bob', 'apply', 'tags', 'or-set', 'add', ['x'])
  assert.deepEqual(orMap.view(alice), { tags: [] })
  assert.deepEqual(orMap.view(orMap.merge(alice, bob)), { tags: ['x'] })
  assert.deepEqual(orMap.view(orMap.merge(bob, alice)), { tags: ['x'] })
  const seen = run(orMap.merge(alice, bob), 'bob', 'apply', 'tags', 'or-set', 'remove', ['x'])
  assert.deepEqual(orMap.view(sync(seen, alice)), { tags: [] })
})

test('concurrent writers\' values join; clashing contracts show the smallest id and refuse writes', () => {
  const a = run(orMap.empty(), 'alice', 'apply', 'n', 'max-register', 'set', [3])
  const b = run(orMap.empty(), 'bob', 'apply', 'n', 'max-register', 'set', [7])
  const ab = orMap.merge(a, b)
  assert.equal(ab.e.length, 2)
  assert.deepEqual(orMap.view(ab), { n: 7 })
  const next = run(ab, 'alice', 'apply', 'n', 'max-register', 'set', [9])
  assert.equal(next.e.length, 1)
  assert.deepEqual(orMap.view(next), { n: 9 })
  const clash = orMap.merge(a, run(orMap.empty(), 'bob', 'apply', 'n', 'g-set', 'add', ['z']))
  assert.deepEqual(orMap.view(clash), { n: ['z'] }) // "g-set" < "max-register"
  throwsCode(() => orMap.ops.apply(clash, ['n', 'g-set', 'add', ['w']], { replica: 'alice', now: T }), 'contract_mismatch')
  assert.deepEqual(orMap.view(run(run(clash, 'alice', 'remove', 'n'), 'alice', 'apply', 'n', 'g-set', 'add', ['w'])), { n: ['w'] })
})

test('ops refuse bad args, unknown contracts and ops, and mismatched contracts', () => {
  const s = run(orMap.empty(), 'alice', 'apply', 'n', 'max-register', 'set', [1])
  const apply = (...args: JsonValue[]): unknown => orMap.ops.apply(s, args, { replica: 'alice', now: T })
  for (const field of ['', '__proto__', 'x'.repeat(1025), 'é'.repeat(513), 7, null]) throwsCode(() => apply(field, 'g-set', 'add', [1]), 'bad_args')
  throwsCode(() => apply('m', 'g-set', 'add'), 'bad_args')
  throwsCode(() => apply('m', 'g-set', 'add', 'x'), 'bad_args')
  throwsCode(() => apply('m', 5, 'add', [1]), 'bad_args')
  throwsCode(() => apply('m', 'g-set', 'add', []), 'bad_args') // the nested op's own check
  throwsCode(() => apply('m', 'nope', 'add', [1]), 'unknown_contract')
  throwsCode(() => apply('m', 'g-set', 'toString', [1]), 'unknown_op')
  throwsCode(() => apply('n', 'g-set', 'add', [1]), 'contract_mismatch')
  throwsCode(() => orMap.ops.remove(s, ['__proto__'], { replica: 'alice', now: T }), 'bad_args')
  assert.equal(orMap.ops.remove(s, ['m'], { replica: 'alice', now: T }), undefined)
  assert.equal(apply('n', 'max-register', 'set', [0]), undefined) // the nested op changes nothing
  assert.ok(apply('x'.repeat(1024), 'g-set', 'add', [1]) !== undefined)
})

test('validate rejects garbage with invalid_state', () => {
  const good = run(run(orMap.empty(), 'alice', 'apply', 'a', 'g-set', 'add', [1]), 'alice', 'apply', 'b', 'max-register', 'set', [2])
  assert.deepEqual(orMap.validate(good), good)
  const [ea, eb] = good.e
  const garbage: unknown[] = [
    null, [], { e: [] }, { e: [], c: [], x: 1 }, { e: {}, c: [] },
    { e: [['a', 'g-set', ['alice', 1], []]], c: good.c }, // no writers
    { e: [eb, ea], c: good.c }, // unsorted
    { e: [ea, ['b', 'max-register', ['zed', 1], 2, [['zed', 1, 1]]]], c: good.c }, // dot not in context
    { e: [ea, ['b', 'max-register', eb[2], 'two', eb[4]]], c: good.c }, // invalid nested state
    { e: [ea, ['__proto__', 'max-register', eb[2], 2, eb[4]]], c: good.c }, // forbidden field
    { e: [ea, ['', 'max-register', eb[2], 2, eb[4]]], c: good.c }, // empty field
    { e: [ea, ['b', 'max-register', eb[2], 2, [['bob', 1, 1]]]], c: good.c }, // writers miss the author
    { e: [ea, ['b', 'max-register', eb[2], 2, [['alice', 1, 1]]]], c: good.c }, // author's run ends elsewhere
    { e: [ea, ['b', 'max-register', eb[2], 2, [['zed', 1, 1], ['alice', 1, 2]]]], c: good.c } // writers unsorted
  ]
  for (const x of garbage) throwsCode(() => orMap.validate(x), 'invalid_state')
  throwsCode(() => orMap.validateSummary({ c: [] }), 'invalid_summary')
  // A field of a contract this peer lacks is no proof of garbage: another peer may have it. "Cannot judge".
  const lacking = { e: [ea, ['b', 'nope', eb[2], 2, eb[4]]], c: good.c }
  assert.throws(() => orMap.validate(lacking), (err: unknown) => err instanceof ContractError && err.code === 'unknown_contract' && err.contract === 'nope' && /"nope"/.test(err.message))
  throwsCode(() => orMap.view(lacking as OrMapState), 'unknown_contract')
  // Nested in another or-map: still "cannot judge", naming the contract lacked.
  const outer = { e: [['o', 'or-map', ['alice', 9], lacking, [['alice', 9, 9]]]], c: [['alice', [9, 9]]] }
  const withMaps = createOrMap(id => (id === 'or-map' ? withMaps : nested.get(id)))
  assert.throws(() => withMaps.validate(outer), (err: unknown) => err instanceof ContractError && err.code === 'unknown_contract' && err.contract === 'nope')
})

test('fields hold only unversioned contracts: a versioned one is refused by apply, and a field naming an id this peer has only in a version is one of a contract it lacks', () => {
  const v2 = { ...maxRegister, version: '2' }
  const versioned = createOrMap(id => (id === 'max-register' ? v2 : nested.get(id)))
  assert.throws(() => versioned.ops.apply(versioned.empty(), ['f', 'max-register', 'set', [1]], { replica: 'alice', now: T }),
    (err: unknown) => err instanceof ContractError && err.code === 'bad_args' && /version \("2"\)/.test(err.message) && /unversioned/.test(err.message))
  // A peer with the unversioned code writes the field; the peer with version 2 must not merge it with other code.
  const written = run(orMap.empty(), 'alice', 'apply', 'f', 'max-register', 'set', [5])
  assert.deepEqual(orMap.validate(written), written)
  assert.throws(() => versioned.validate(written), (err: unknown) => err instanceof ContractError && err.code === 'unknown_contract' && /version "2"/.test(err.message))
  throwsCode(() => versioned.view(written), 'unknown_contract')
  assert.equal(versioned.stampOf?.(written), undefined)
  // Other fields are unaffected.
  const other = run(versioned.empty(), 'bob', 'apply', 'g', 'g-set', 'add', [1])
  assert.deepEqual(versioned.view(versioned.validate(other)), { g: [1] })
})

test('a 10,000-field map has a summary under 5% of its state', () => {
  const entries: MapEntry[] = []
  for (let i = 0; i < 10_000; i++) entries.push([`field-${String(i).padStart(5, '0')}`, 'max-register', ['alice', i + 1], i, [['alice', i + 1, i + 1]]])
  const s = orMap.validate({ e: entries, c: dotSetOf(entries.map(e => e[2])) })
  const stateBytes = encode(s).length
  const summaryBytes = encode(orMap.summarize(s)).length
  assert.ok(summaryBytes <= 0.05 * stateBytes, `summary ${summaryBytes} B vs state ${stateBytes} B`)
  assert.equal((orMap.view(run(s, 'bob', 'remove', 'field-00007')) as Record<string, unknown>)['field-00007'], undefined)
})

test('a field re-created after a remove never reuses nested identities of a write that raced the remove', () => {
  const a1 = run(orMap.empty(), 'alice', 'apply', 'f', 'or-set', 'add', ['x'])
  const b1 = run(sync(a1, orMap.empty()), 'bob', 'apply', 'f', 'or-set', 'add', ['z'])
  const a2 = run(run(a1, 'alice', 'remove', 'f'), 'alice', 'apply', 'f', 'or-set', 'add', ['y'])
  // bob's write raced the remove, so it survives carrying what bob saw (x, z); alice's y joins it.
  assert.deepEqual(orMap.view(orMap.merge(a2, b1)), { f: ['x', 'y', 'z'] })
  assert.deepEqual(orMap.view(orMap.merge(b1, a2)), { f: ['x', 'y', 'z'] })
  // Same race with a counter: alice's increments after re-creating must all count.
  const c1 = run(orMap.empty(), 'alice', 'apply', 'n', 'pn-counter', 'inc', [5])
  const d1 = run(sync(c1, orMap.empty()), 'bob', 'apply', 'n', 'pn-counter', 'inc', [1])
  const c2 = run(run(c1, 'alice', 'remove', 'n'), 'alice', 'apply', 'n', 'pn-counter', 'inc', [2])
  assert.deepEqual(orMap.view(orMap.merge(c2, d1)), { n: 8 })
})

test('a writer keeps one nested identity across its own writes and alternation with another writer', () => {
  let a = orMap.empty()
  let b = orMap.empty()
  for (let i = 0; i < 20; i++) {
    a = run(sync(b, a), 'alice', 'apply', 'n', 'pn-counter', 'inc', [1])
    b = run(sync(a, b), 'bob', 'apply', 'n', 'pn-counter', 'inc', [1])
  }
  assert.deepEqual(orMap.view(b), { n: 40 })
  const [entry] = b.e
  const nestedReplicas = (entry[3] as { p: Array<[string, number]> }).p.map(x => x[0])
  assert.deepEqual(nestedReplicas, ['alice.1', 'bob.1'])
})

test('stampOf is the greatest stamp of any field (lww-register and log fields have them), undefined without one', () => {
  const stamped = createOrMap(id => ({ 'lww-register': lwwRegister, log, 'or-set': orSet } as Record<string, AnyContract>)[id])
  let s = stamped.empty()
  assert.equal(stamped.stampOf!(s), undefined)
  const step = (field: string, id: string, op: string, arg: JsonValue, now: number): void => {
    s = stamped.merge(s, stamped.ops.apply(s, [field, id, op, [arg]], { replica: 'alice', now })!)
  }
  step('tags', 'or-set', 'add', 'x', T)
  assert.equal(stamped.stampOf!(s), undefined)
  step('title', 'lww-register', 'set', 'a', T + 5)
  step('chat', 'log', 'append', 'hi', T + 9)
  step('title', 'lww-register', 'set', 'b', T + 7)
  assert.equal(stamped.stampOf!(s), T + 9)
})
