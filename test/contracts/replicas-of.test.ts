// Contract.replicasOf on every built-in: the replica ids a state records events under, which owned keys check.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRegistry } from '../../contracts/index.ts'
import type { AnyContract } from '../../core/contract.ts'
import type { JsonValue } from '../../core/json.ts'

const registry = createRegistry()
const T = 1_700_000_000_000

/** One op on each built-in, as replica `r`, and a second replica's op merged in. */
const calls: Record<string, Array<[op: string, args: JsonValue[]]>> = {
  'g-counter': [['inc', [2]]],
  'pn-counter': [['inc', [1]], ['dec', [1]]],
  'lww-register': [['set', ['x']]],
  'mv-register': [['set', ['x']]],
  'g-set': [['add', ['x']]],
  'or-set': [['add', ['x']]],
  log: [['append', ['x']]],
  'or-map': [['apply', ['f', 'g-counter', 'inc', [1]]]]
}

/** The replica ids of `s`, each cut to its store's id (or-map names nested writers `<replica>.<n>`). */
function roots (c: AnyContract, s: unknown): string[] {
  return [...new Set([...c.replicasOf!(s)].map(r => r.split('.')[0]))]
}

function run (c: AnyContract, s: unknown, replica: string, op: string, args: JsonValue[]): { state: unknown, delta: unknown } {
  const delta = c.ops[op](s, args, { replica, now: T })
  return { state: c.merge(s, delta), delta }
}

test('every built-in lists the replica ids its events are under, and only those', () => {
  for (const [id, ops] of Object.entries(calls)) {
    const c = registry.resolve(id)
    assert.equal(typeof c.replicasOf, 'function', `${id} implements replicasOf`)
    for (const [op, args] of ops) {
      const a = run(c, c.empty(), 'alice', op, args)
      assert.deepEqual(roots(c, a.delta), ['alice'], `${id}.${op}: a delta by alice is under alice only`)
      const other = JSON.parse(JSON.stringify(args).replace('"x"', '"y"').replace('"f"', '"g"')) as JsonValue[] // bob writes another value or field
      const b = run(c, a.state, 'bob', op, other)
      assert.deepEqual(roots(c, b.delta), ['bob'], `${id}.${op}: bob's delta, made on a state holding alice's event, is under bob only`)
      const both = roots(c, b.state).sort()
      // A register's set overwrites what it saw: the state's events are then bob's alone.
      assert.deepEqual(both, id.endsWith('-register') ? ['bob'] : ['alice', 'bob'], `${id}.${op}: the merged state lists the writers of its live events`)
    }
  }
})

test('a remove records no event of its own (its fresh dot is only in the context)', () => {
  const c = registry.resolve('or-set')
  const a = run(c, c.empty(), 'alice', 'add', ['x'])
  const r = run(c, a.state, 'bob', 'remove', ['x'])
  assert.deepEqual([...c.replicasOf!(r.delta)], [])
  assert.deepEqual([...c.replicasOf!(r.state)], [])
})
