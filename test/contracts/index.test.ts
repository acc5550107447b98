import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRegistry } from '../../contracts/index.ts'
import { ContractError } from '../../core/errors.ts'
import { maxRegister } from '../fixtures/max-register.ts'

test('the registry holds the nine built-ins (the owned envelope among them) under their exact ids', () => {
  assert.deepEqual(createRegistry().ids(), ['g-counter', 'g-set', 'log', 'lww-register', 'mv-register', 'or-map', 'or-set', 'owned', 'pn-counter'])
})

test('log resolves with parameters; contracts without parameters refuse them', () => {
  const r = createRegistry()
  assert.deepEqual(r.resolve({ id: 'log', params: { keepLast: 3 } }).params, { keepLast: 3 })
  assert.throws(() => r.resolve({ id: 'log', params: { keepLast: 0 } }), (e: unknown) => e instanceof ContractError && e.code === 'bad_args')
  assert.throws(() => r.resolve({ id: 'or-set', params: { x: 1 } }), (e: unknown) => e instanceof ContractError && e.code === 'bad_args')
})

test('or-map fields may hold contracts registered after it', () => {
  const r = createRegistry()
  r.register(maxRegister, { trusted: true })
  const orMap = r.resolve('or-map')
  const d = orMap.ops.apply(orMap.empty(), ['top', 'max-register', 'set', [7]], { replica: 'alice', now: Date.now() })
  assert.deepEqual(orMap.view(orMap.merge(orMap.empty(), d)), { top: 7 })
})
