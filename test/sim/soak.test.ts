// The soak command, on a handful of seeds.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const script = fileURLToPath(new URL('../../sim/soak.ts', import.meta.url))

test('the soak runs its seeds on workers, shows progress and reports that all passed', () => {
  const r = spawnSync(process.execPath, [script, '--seeds', '4', '--from', '1002', '--workers', '2'], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.match(r.stdout, /seeds 4\/4 done, 0 failed/)
  assert.match(r.stdout, /4\/4 seeds passed \(seeds 1002\.\.1005\)/)
})

test('bad arguments exit 2', () => {
  const r = spawnSync(process.execPath, [script, '--seeds', '0'], { encoding: 'utf8' })
  assert.equal(r.status, 2)
  assert.match(r.stderr, /--seeds must be a whole number/)
})
