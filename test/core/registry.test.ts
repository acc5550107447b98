import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { AnyContract } from '../../core/contract.ts'
import { ContractRegistry, parseRef } from '../../core/registry.ts'
import { ContractError } from '../../core/errors.ts'
import { maxRegister } from '../fixtures/max-register.ts'

const code = (c: string) => (err: unknown): boolean => err instanceof ContractError && err.code === c

test('registers a lawful contract and resolves it by id', () => {
  const r = new ContractRegistry()
  r.register(maxRegister, { arbitraries: { value: fc.integer() } })
  assert.equal(r.resolve('max-register'), maxRegister)
  assert.equal(r.resolve({ id: 'max-register' }), maxRegister)
  assert.deepEqual(r.ids(), ['max-register'])
})

test('refuses a non-idempotent plain-sum counter, naming the law and counterexample', () => {
  const sum = {
    ...maxRegister,
    id: 'sum-counter',
    empty: () => 0,
    merge: (a: number, b: number) => a + b,
    summarize: (s: number) => s,
    delta: (s: number, theirs: number) => (s > theirs ? s - theirs : undefined),
    ops: { inc: (_s: number, [n]: number[]) => n }
  } as unknown as AnyContract
  const r = new ContractRegistry()
  assert.throws(() => r.register(sum, { arbitraries: { value: fc.nat(5) } }), (err: unknown) => {
    assert.ok(code('law_broken')(err))
    assert.match((err as Error).message, /"sum-counter" breaks law merge-idempotent/)
    assert.match((err as Error).message, /counterexample history/)
    return true
  })
  assert.equal(r.has('sum-counter'), false)
})

test('refuses malformed contracts and duplicate ids', () => {
  const r = new ContractRegistry()
  assert.throws(() => r.register({ ...maxRegister, id: 'bad id!' } as AnyContract), code('bad_contract'))
  assert.throws(() => r.register({ ...maxRegister, merge: undefined } as unknown as AnyContract), /no merge\(\) function/)
  assert.throws(() => r.register({ ...maxRegister, ops: {} } as AnyContract), /has no ops/)
  r.register(maxRegister, { trusted: true })
  assert.throws(() => r.register(maxRegister, { trusted: true }), /already registered/)
})

test('resolve reports unknown contracts and unexpected parameters', () => {
  const r = new ContractRegistry()
  r.register(maxRegister, { trusted: true })
  assert.throws(() => r.resolve('nope'), (err: unknown) => code('unknown_contract')(err) && /unknown contract "nope"; registered: max-register/.test((err as Error).message))
  assert.throws(() => r.resolve({ id: 'max-register', params: { x: 1 } }), (err: unknown) => code('bad_args')(err) && /takes no parameters/.test((err as Error).message))
  assert.throws(() => parseRef(42), code('unknown_contract'))
  assert.throws(() => parseRef({ id: 'log', params: [1] }), code('bad_args'))
})
