import assert from 'node:assert/strict'
import { it } from 'node:test'
import { MemoryStorage } from '../../core/storage.ts'
import { storageAcceptance } from '../helpers/storage-acceptance.ts'

storageAcceptance('MemoryStorage', {
  create: async () => new MemoryStorage(),
  reopen: async closed => (closed as MemoryStorage).reopen(),
  numRuns: 100
})

it('MemoryStorage.reopen refuses a handle that is still open', () => {
  assert.throws(() => new MemoryStorage().reopen(), /still open/)
})
