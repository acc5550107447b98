// The hostile peer's owned-key forgeries (test/helpers/owned-forgeries.ts) against the envelope's validate:
// the genuine change they start from is accepted, and every forgery, alone or merged with the genuine
// change, is refused as unauthorized_write (never as a shape fault, which would mean the forger is broken).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { AnyContract } from '../../../core/contract.ts'
import { ContractError } from '../../../core/errors.ts'
import { generateSigningKey, ownedBinding } from '../../../core/envelope/index.ts'
import type { OwnedState } from '../../../core/envelope/state.ts'
import { createRegistry } from '../../../contracts/index.ts'
import { OWNED_MODES, type OwnedTarget, ownedForgeries, targetFromString, targetToString } from '../../helpers/owned-forgeries.ts'

const [owner, writer, hostile] = [generateSigningKey().key, generateSigningKey().key, generateSigningKey().key]
const binding = ownedBinding('doc', { id: 'or-set' }, [owner.publicKey, writer.publicKey])
const contract = createRegistry().resolveBound(binding) as AnyContract
const genuine = contract.ops.add(contract.empty(), ['overheard'], { replica: 'writer-elsewhere', now: Date.now(), signer: writer }) as OwnedState
const target: OwnedTarget = targetFromString(targetToString({ key: 'doc', binding, genuine, op: 'add', args: ['forged'] }))

test('the genuine change survives the trip through the env string and is accepted', () => {
  assert.deepEqual(contract.view(contract.validate(target.genuine)), ['overheard'])
})

test('every forgery of every mode is refused as unauthorized_write', () => {
  const forged = ownedForgeries(target, hostile)
  let n = 0
  for (const mode of OWNED_MODES) {
    assert.ok(forged[mode].length >= 2, `${mode} forges ${forged[mode].length} states`)
    forged[mode].forEach((s, i) => {
      n++
      assert.throws(() => contract.validate(s), (err: unknown) => {
        assert.ok(err instanceof ContractError, `${mode}[${i}]: ${String(err)}`)
        assert.equal(err.code, 'unauthorized_write', `${mode}[${i}] refused as ${err.code}: ${err.message}`)
        return true
      }, `${mode}[${i}] was accepted`)
    })
  }
  assert.equal(n, 10)
})
