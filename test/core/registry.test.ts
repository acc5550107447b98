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

test('a contract version must be well-formed, and id::version a valid id; ids may not contain "::"', () => {
  const r = new ContractRegistry()
  const trusted = { trusted: true }
  for (const version of ['', '2 beta', 'v:2', 'x'.repeat(33), 7]) {
    assert.throws(() => r.register({ ...maxRegister, version } as unknown as AnyContract, trusted), (err: unknown) => code('bad_contract')(err) && /version/.test((err as Error).message), String(version))
  }
  assert.throws(() => r.register({ ...maxRegister, id: 'a'.repeat(40), version: 'b'.repeat(30) }, trusted), /over 64 characters/)
  assert.throws(() => r.register({ ...maxRegister, id: 'acme::max' }, trusted), (err: unknown) => code('bad_contract')(err) && /must not contain "::"/.test((err as Error).message))
  assert.throws(() => r.register({ ...maxRegister, id: 'acme:', version: '2' }, trusted), /would not split back/)
  r.register({ ...maxRegister, version: '2.1-rc' }, trusted)
  assert.equal(r.versionOf('max-register'), '2.1-rc')
})

test('a binding resolves only to the registered contract of its version; a request naming a version must name that one', () => {
  const r = new ContractRegistry()
  const v2 = { ...maxRegister, version: '2' }
  r.register(v2, { trusted: true })
  assert.equal(r.resolveBound({ id: 'max-register', version: '2' }), v2)
  assert.throws(() => r.resolveBound({ id: 'max-register', version: '1' }), (err: unknown) => code('unknown_contract')(err) && /version "1" is not the one this peer has \(version "2"\)/.test((err as Error).message))
  assert.throws(() => r.resolveBound({ id: 'max-register' }), (err: unknown) => code('unknown_contract')(err) && /unversioned is not the one this peer has/.test((err as Error).message))
  assert.equal(r.resolve('max-register'), v2, 'an app request without a version takes the registered one')
  assert.equal(r.resolve({ id: 'max-register', version: '2' }), v2)
  assert.throws(() => r.resolve({ id: 'max-register', version: '3' }), code('unknown_contract'))
  assert.throws(() => parseRef({ id: 'max-register', version: 'no good' }), code('unknown_contract'))
  const plain = new ContractRegistry()
  plain.register(maxRegister, { trusted: true })
  assert.throws(() => plain.resolveBound({ id: 'max-register', version: '2' }), /version "2" is not the one this peer has \(unversioned\)/)
})
