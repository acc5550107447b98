import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

test('the README store example runs and prints what the README says', async () => {
  const example = fileURLToPath(new URL('../fixtures/readme-store-example.ts', import.meta.url))
  const { stdout } = await promisify(execFile)(process.execPath, [example], { timeout: 20_000 })
  const lines = stdout.trim().split('\n')
  assert.equal(lines[0], "{ key: 'cart', contract: { id: 'or-set' }, value: [ 'apples' ] }")
  assert.match(lines[1], /^\[ 'apples' \] \{"c":\[\["([0-9a-f]{24})",\[1,1\]\]\],"a":\[\["\1",\[1,1\]\]\]\}$/)
  assert.equal(lines[2], "local [ 'apples' ]")
})
