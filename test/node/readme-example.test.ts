import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const examplePath = fileURLToPath(new URL('../fixtures/readme-node-example.ts', import.meta.url))
const readmePath = fileURLToPath(new URL('../../README.md', import.meta.url))

test('the README "Embed a peer" example runs and prints what the README says', { timeout: 30_000 }, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [examplePath], { timeout: 25_000 })
  assert.deepEqual(stdout.trim().split('\n'), [
    "[ 'apples' ] true",
    "1 1 { key: 'cart', contract: { id: 'or-set' }, value: [ 'apples' ] }"
  ])
})

test('the README shows the example as it runs', async () => {
  const readme = await readFile(readmePath, 'utf8')
  const block = /## Embed a peer\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1]
  assert.ok(block !== undefined, 'README has an "Embed a peer" section with a ts block')
  const source = await readFile(examplePath, 'utf8')
  const body = /\/\/ --- README example starts here\n([\s\S]*?)\/\/ --- README example ends here/.exec(source)?.[1]
  assert.ok(body !== undefined)
  assert.equal(block, "import { createNode } from './node/node.ts'\n\n" + body)
})
