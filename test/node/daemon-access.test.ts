// The daemon's access flags, parsed and loaded in process: a non-loopback --api needs --api-allow-remote; TLS
// flags go in pairs and their files are checked (parse, match, mode) naming flag and file, quoting no key; the
// API limit flags take whole numbers and are cross-checked under their flag names; --allow-peer ids are checked.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmod, copyFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type DaemonOptions, UsageError, parseDaemonArgs } from '../../node/daemon-args.ts'
import { loadAccess } from '../../node/daemon-access.ts'

const dir = await mkdtemp(join(tmpdir(), 'monoidb-access-args-'))
after(async () => { await rm(dir, { recursive: true, force: true }) })
const cert = join(dir, 'cert.pem')
const key = join(dir, 'key.pem')
const otherKey = join(dir, 'other-key.pem')
for (const [c, k] of [[cert, key], [join(dir, 'other-cert.pem'), otherKey]]) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', k, '-out', c, '-days', '2', '-subj', '/CN=t', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
  await chmod(k, 0o600)
}
const PEER = '12D3KooWGZbo5dsP4G2z9se8GxQZMeQgsd4CWn9V4Y1xAB8PuqCV'

const parse = (args: string[]): DaemonOptions => parseDaemonArgs(args) as DaemonOptions
const usage = (message: string): Error => new UsageError(message)
function refused (args: string[], message: RegExp): void {
  assert.throws(() => parseDaemonArgs(args), (err: Error) => err instanceof UsageError && message.test(err.message), `${args.join(' ')}`)
}

test('--api must be loopback unless --api-allow-remote is given', () => {
  for (const api of ['127.0.0.1:0', '127.3.4.5:7420', '[::1]:0', 'localhost:7420']) assert.equal(parse(['--api', api]).access.apiAllowRemote, false, api)
  for (const api of ['0.0.0.0:0', '[::]:0', '10.1.2.3:7420', '192.168.1.9:7420', 'example.org:7420', '[::ffff:127.0.0.1]:0']) {
    refused(['--api', api], /is reachable from other machines: .*add --api-allow-remote/)
    assert.equal(parse(['--api', api, '--api-allow-remote']).access.apiAllowRemote, true, api)
  }
  assert.deepEqual(parse([]).api, { host: '127.0.0.1', port: 7420 }, 'loopback by default')
})

test('TLS flags go in pairs; the limit flags take whole numbers; --allow-peer takes peer ids', () => {
  refused(['--api-tls-cert', cert], /^--api-tls-cert needs --api-tls-key FILE too$/)
  refused(['--api-tls-key', key], /^--api-tls-key needs --api-tls-cert FILE too$/)
  refused(['--api-tls-cert', '', '--api-tls-key', key], /--api-tls-cert needs a file path/)
  assert.deepEqual(parse(['--api-tls-cert', cert, '--api-tls-key', key]).access.apiTls, { certFile: cert, keyFile: key })
  const limits = parse(['--api-max-connections', '100', '--api-max-event-streams', '10', '--api-headers-timeout', '2000', '--api-request-timeout', '4000', '--api-keep-alive-timeout', '1000', '--api-max-header-bytes', '8192']).access.apiLimits
  assert.deepEqual(limits, { maxConnections: 100, maxEventStreams: 10, headersTimeoutMs: 2000, requestTimeoutMs: 4000, keepAliveTimeoutMs: 1000, maxHeaderBytes: 8192 })
  assert.deepEqual(parse([]).access.apiLimits, {})
  for (const bad of ['0', '1.5', 'ten', '', '99999999999']) refused(['--api-max-connections', bad], /^--api-max-connections must be a whole number ≥ 1, got /)
  assert.deepEqual(parse(['--allow-peer', PEER, '--allow-peer', PEER]).access.allowPeers, [PEER])
  refused(['--allow-peer', 'Qmnope'], /^--allow-peer: "Qmnope" is not a libp2p peer id/)
  refused(['--swarm-key', ''], /--swarm-key needs a file path/)
})

test('loadAccess reads the TLS pair and refuses bad files naming flag and file, quoting no key', async () => {
  const ok = await loadAccess(parse(['--api-tls-cert', cert, '--api-tls-key', key]).access, usage)
  assert.equal(ok.apiTls?.certFile, cert)
  assert.match(String(ok.apiTls?.cert), /BEGIN CERTIFICATE/)
  const openKey = join(dir, 'open-key.pem')
  await copyFile(key, openKey)
  await chmod(openKey, 0o644)
  const certAsKey = join(dir, 'cert-as-key.pem')
  await copyFile(cert, certAsKey)
  await chmod(certAsKey, 0o600)
  const cases: Array<[string, string, RegExp]> = [
    [join(dir, 'missing.pem'), key, /^cannot read --api-tls-cert .*missing\.pem: ENOENT$/],
    [dir, key, /^--api-tls-cert .* is not a regular file$/],
    [key, key, /^--api-tls-cert .*key\.pem is not a PEM certificate/],
    [cert, certAsKey, /^--api-tls-key .*cert-as-key\.pem is not an unencrypted PEM private key$/],
    [cert, otherKey, /^--api-tls-key .*other-key\.pem does not match the certificate in --api-tls-cert .*cert\.pem$/],
    [cert, openKey, /^--api-tls-key .*open-key\.pem has mode 644: others may read the API's private key/]
  ]
  for (const [c, k, message] of cases) {
    await assert.rejects(loadAccess(parse(['--api-tls-cert', c, '--api-tls-key', k]).access, usage), (err: Error) => err instanceof UsageError && message.test(err.message) && !/BEGIN|PRIVATE/.test(err.message), `${c} ${k}`)
  }
})

test('loadAccess cross-checks the limits under their flag names, and reads the swarm key', async () => {
  await assert.rejects(loadAccess(parse(['--api-max-event-streams', '10', '--api-max-connections', '10']).access, usage), /--api-max-event-streams \(10\) must be under --api-max-connections \(10\)/)
  await assert.rejects(loadAccess(parse(['--api-headers-timeout', '5000', '--api-request-timeout', '1000']).access, usage), /--api-headers-timeout \(5000\) must not be over --api-request-timeout \(1000\)/)
  await assert.rejects(loadAccess(parse(['--api-max-header-bytes', '100']).access, usage), /--api-max-header-bytes must be a whole number ≥ 1024, got 100/)
  await assert.rejects(loadAccess(parse(['--swarm-key', join(dir, 'none')]).access, usage), (err: Error) => err instanceof UsageError && /^--swarm-key: cannot read swarm key .*none: ENOENT$/.test(err.message))
  assert.deepEqual(await loadAccess(parse([]).access, usage), {})
})
