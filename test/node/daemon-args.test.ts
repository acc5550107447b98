// The daemon's command line: --durability (the rest is covered through real daemons in daemon.test.ts).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { UsageError, parseDaemonArgs } from '../../node/daemon-args.ts'

test('--durability defaults to power, takes process, and refuses anything else naming it', () => {
  const durability = (args: string[]): unknown => (parseDaemonArgs(args) as { durability: unknown }).durability
  assert.equal(durability([]), 'power')
  assert.equal(durability(['--durability', 'power']), 'power')
  assert.equal(durability(['daemon', '--durability', 'process']), 'process')
  for (const bad of ['disk', 'POWER', '']) {
    assert.throws(() => parseDaemonArgs(['--durability', bad]), (err: Error) => err instanceof UsageError && err.message === `--durability must be power or process, got ${JSON.stringify(bad)}`)
  }
})
