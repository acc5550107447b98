import { test } from 'node:test'
import assert from 'node:assert/strict'
import { errorLog } from '../../node/error-log.ts'

test('background errors are logged one line each, at most N a second, then a count of those left out', () => {
  const lines: string[] = []
  let now = 0
  const log = errorLog(line => { lines.push(line) }, 3, () => now)
  for (let i = 0; i < 10; i++) log(new Error(`boom ${i}`))
  assert.deepEqual(lines, ['monoidb daemon: background error: boom 0', 'monoidb daemon: background error: boom 1', 'monoidb daemon: background error: boom 2'])
  now = 1000
  log('plain')
  assert.deepEqual(lines.slice(3), ['monoidb daemon: 7 more background error(s) not shown', 'monoidb daemon: background error: plain'])
  now = 5000
  log(new Error('later'))
  assert.equal(lines.at(-1), 'monoidb daemon: background error: later', 'nothing was left out in the quiet second')
  assert.equal(lines.length, 6)
})

test('the count of errors left out is written when the second ends, even if no other error comes', async () => {
  const lines: string[] = []
  const log = errorLog(line => { lines.push(line) }, 2)
  for (let i = 0; i < 5; i++) log(new Error(`e${i}`))
  assert.equal(lines.length, 2)
  await new Promise(resolve => setTimeout(resolve, 1_100))
  assert.deepEqual(lines.slice(2), ['monoidb daemon: 3 more background error(s) not shown'])
})
