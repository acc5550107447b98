// The daemon's command line: --durability (the rest is covered through real daemons in daemon.test.ts).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolve } from 'node:path'
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

test('--log-level defaults to info, takes pino\'s levels, and refuses anything else naming them', () => {
  const level = (args: string[]): unknown => (parseDaemonArgs(args) as { logLevel: unknown }).logLevel
  assert.equal(level([]), 'info')
  for (const l of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) assert.equal(level(['--log-level', l]), l)
  for (const bad of ['loud', 'INFO', '']) {
    assert.throws(() => parseDaemonArgs(['--log-level', bad]), (err: Error) => err instanceof UsageError && err.message.startsWith(`--log-level must be one of fatal, error, warn, info, debug, trace, silent, got ${JSON.stringify(bad)}`))
  }
})

test('--metrics takes a loopback HOST:PORT; another host needs --metrics-remote; --metrics-remote alone is refused', () => {
  const metrics = (args: string[]): unknown => (parseDaemonArgs(args) as { metrics?: unknown }).metrics
  assert.equal(metrics([]), undefined)
  assert.deepEqual(metrics(['--metrics', '127.0.0.1:9464']), { host: '127.0.0.1', port: 9464 })
  assert.deepEqual(metrics(['--metrics', '[::1]:0']), { host: '::1', port: 0 })
  assert.deepEqual(metrics(['--metrics', 'localhost:9464']), { host: 'localhost', port: 9464 })
  assert.deepEqual(metrics(['--metrics', '0.0.0.0:9464', '--metrics-remote']), { host: '0.0.0.0', port: 9464 })
  for (const host of ['0.0.0.0:9464', '[::]:9464', '10.0.0.5:9464', 'example.org:9464']) {
    assert.throws(() => parseDaemonArgs(['--metrics', host]), (err: Error) => err instanceof UsageError && err.message.includes('serves without a token') && err.message.includes('--metrics-remote'), host)
  }
  assert.throws(() => parseDaemonArgs(['--metrics', '9464']), (err: Error) => err instanceof UsageError && err.message.startsWith('--metrics "9464" must be HOST:PORT'))
  assert.throws(() => parseDaemonArgs(['--metrics-remote']), (err: Error) => err instanceof UsageError && err.message === '--metrics-remote goes with --metrics HOST:PORT')
})

test('--signing-key takes a file path (absolute after parsing); none by default; an empty one is refused', () => {
  const key = (args: string[]): unknown => (parseDaemonArgs(args) as { signingKey?: unknown }).signingKey
  assert.equal(key([]), undefined)
  assert.equal(key(['--signing-key', 'keys/alice.pem']), resolve('keys/alice.pem'))
  assert.throws(() => parseDaemonArgs(['--signing-key', '']), (err: Error) => err instanceof UsageError && /--signing-key needs a file path/.test(err.message))
  assert.throws(() => parseDaemonArgs(['--signing-key']), (err: Error) => err instanceof UsageError && /--signing-key/.test(err.message))
})
