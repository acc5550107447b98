// Signing keys as users handle them: `monoidb keygen FILE`, `monoidb daemon --signing-key FILE` (real processes),
// the key file reader, and the CLI's owned-key arguments (checked before any daemon is looked for).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect } from '../../node/client.ts'
import type { DaemonInfo } from '../../node/daemon.ts'
import { signingKeyFromPem } from '../../core/envelope/index.ts'
import { KeyFileError, readSigningKeyFile } from '../../node/signing-key-file.ts'
import { until } from '../helpers/node-fixtures.ts'

const cliPath = fileURLToPath(new URL('../../node/cli.ts', import.meta.url))
const PUBKEY = /^ed25519:[A-Za-z0-9_-]{43}$/
const root = await mkdtemp(join(tmpdir(), 'monoidb-owned-node-keys-'))
const children: ChildProcess[] = []
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  await rm(root, { recursive: true, force: true })
})

interface Run { code: number | null, stdout: string, stderr: string }

async function cli (...args: string[]): Promise<Run> {
  return await new Promise(resolve => {
    const { MONOIDB_TOKEN: _, ...env } = process.env
    execFile(process.execPath, [cliPath, ...args], { env, timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
}

test('keygen writes a 0600 PKCS#8 PEM Ed25519 key and prints its public key; it never overwrites a file', { timeout: 30_000 }, async () => {
  const file = join(root, 'alice.key')
  const r = await cli('keygen', file)
  assert.equal(r.code, 0, r.stderr)
  assert.equal(r.stderr, '')
  const publicKey = r.stdout.trim()
  assert.match(publicKey, PUBKEY)
  assert.equal((await stat(file)).mode & 0o777, 0o600, 'mode 0600')
  const pem = await readFile(file, 'utf8')
  assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/, 'PKCS#8 PEM')
  assert.equal(signingKeyFromPem(pem).publicKey, publicKey, 'the printed key is the file\'s')
  assert.ok(!r.stdout.includes(pem.split('\n')[1]), 'the private key is not printed')

  const again = await cli('keygen', file)
  assert.equal(again.code, 2, again.stderr)
  assert.equal(again.stdout, '')
  assert.ok(again.stderr.includes(`${file} already exists`), again.stderr)
  assert.equal(await readFile(file, 'utf8'), pem, 'the existing key is untouched')

  const second = await cli('keygen', join(root, 'bob.key'))
  assert.notEqual(second.stdout.trim(), publicKey, 'each key is new')

  for (const args of [['keygen'], ['keygen', join(root, 'x.key'), 'extra'], ['keygen', '--nope', join(root, 'y.key')]]) {
    const bad = await cli(...args)
    assert.equal(bad.code, 2, args.join(' '))
    assert.match(bad.stderr, /usage: monoidb keygen FILE/, args.join(' '))
  }
  assert.deepEqual((await readdir(root)).sort(), ['alice.key', 'bob.key'], 'bad usage writes nothing')
  const help = await cli('help', 'keygen')
  assert.equal(help.code, 0)
  assert.match(help.stdout, /mode 0600[\s\S]*ed25519:<base64url>/)
})

test('a signing key file is refused, naming it, unless it is an Ed25519 PKCS#8 key; one open to others is used with a warning', async () => {
  const dir = join(root, 'files')
  await mkdir(dir)
  const ed = generateKeyPairSync('ed25519').privateKey
  const good = join(dir, 'good.pem')
  await writeFile(good, ed.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 })
  await chmod(good, 0o600)
  const read = await readSigningKeyFile(good)
  assert.match(read.key.publicKey, PUBKEY)
  assert.equal(read.warning, undefined)

  await chmod(good, 0o644)
  const open = await readSigningKeyFile(good)
  assert.equal(open.key.publicKey, read.key.publicKey)
  assert.match(open.warning ?? '', /good\.pem is open to others than its owner \(mode 0644\).*chmod 600/)

  const cases: Array<[string, string | Buffer]> = [
    ['rsa.pem', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' })],
    ['ed448.pem', generateKeyPairSync('ed448').privateKey.export({ format: 'pem', type: 'pkcs8' })],
    ['public.pem', generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' })],
    ['garbage.pem', 'secret-looking-garbage-123\n'],
    ['empty.pem', ''],
    ['huge.pem', Buffer.alloc(100_000, 65)]
  ]
  for (const [name, content] of cases) {
    await writeFile(join(dir, name), content, { mode: 0o600 })
    await assert.rejects(readSigningKeyFile(join(dir, name)), (err: KeyFileError) => {
      assert.equal(err.kind, 'bad', name)
      assert.ok(err.message.includes(join(dir, name)), `${name}: names the file: ${err.message}`)
      assert.match(err.message, /not an Ed25519 PKCS#8 private key/, name)
      assert.ok(!err.message.includes('garbage-123'), 'the content is never quoted')
      return true
    })
  }
  await assert.rejects(readSigningKeyFile(join(dir, 'missing.pem')), /cannot read signing key file .*missing\.pem: ENOENT/)
  await assert.rejects(readSigningKeyFile(dir), /signing key file .*files is not a regular file/)
})

test('daemon --signing-key: a bad file exits 2 naming it before touching the data folder; a good one shows its public key in status (with a warning if others may read it)', { timeout: 40_000 }, async () => {
  const bad = join(root, 'bad.pem')
  await writeFile(bad, 'not a key\n', { mode: 0o600 })
  const data = join(root, 'data-bad')
  const refused = await new Promise<Run>(resolve => {
    execFile(process.execPath, [cliPath, 'daemon', '--data', data, '--api', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0', '--signing-key', bad], { timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
  assert.equal(refused.code, 2, refused.stderr)
  assert.match(refused.stderr, /^monoidb daemon: --signing-key: signing key file .*bad\.pem is not an Ed25519 PKCS#8 private key/)
  await assert.rejects(stat(data), /ENOENT/, 'no data folder made')

  const keyFile = join(root, 'daemon.key')
  const publicKey = (await cli('keygen', keyFile)).stdout.trim()
  await chmod(keyFile, 0o640) // used, with a warning
  const good = join(root, 'data-good')
  const child = spawn(process.execPath, [cliPath, 'daemon', '--data', good, '--api', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0', '--signing-key', keyFile], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''; let err = ''
  child.stdout!.on('data', b => { out += String(b) })
  child.stderr!.on('data', b => { err += String(b) })
  const exited = new Promise(resolve => child.once('exit', resolve))
  await until('the ready line', () => out.includes('monoidb daemon ready') || child.exitCode !== null, 15_000)
  assert.ok(out.includes(`signing as ${publicKey}`), `the ready line names the public key: ${out} ${err}`)
  assert.ok(err.includes(`monoidb daemon: warning: signing key file ${keyFile} is open to others than its owner (mode 0640)`), `a warning on stderr: ${err}`)
  const info = JSON.parse(await readFile(join(good, 'daemon.json'), 'utf8')) as DaemonInfo
  const status = await connect(info.api, info.token).status()
  assert.equal(status.publicKey, publicKey)
  const pem = await readFile(keyFile, 'utf8')
  assert.ok(!(out + err).includes(pem.split('\n')[1]), 'the private key is never logged')
  child.kill('SIGTERM')
  await exited
})

test('CLI owned-key arguments: a bad --writers, --grant or --revoke value exits 2 naming it; writers needs one of --grant/--revoke', { timeout: 30_000 }, async () => {
  const nowhere = join(root, 'no-daemon-here')
  const ok = 'ed25519:' + Buffer.alloc(32, 7).toString('base64url')
  const cases: Array<[string[], RegExp]> = [
    [['update', 'k', 'g-counter', 'inc', '--writers', 'nope'], /--writers "nope" is not a public key/],
    [['update', 'k', 'g-counter', 'inc', '--writers', `${ok},ed25519:short`], /--writers "ed25519:short" is not a public key/],
    [['update', 'k', 'g-counter', 'inc', '--writers', ok, '--writers', 'ed25519:' + Buffer.alloc(31).toString('base64url')], /--writers "ed25519:[A-Za-z0-9_-]{42}" is not a public key/],
    [['writers', 'k', '--grant', 'x'], /--grant "x" is not a public key/],
    [['writers', 'k', '--revoke', ''], /--revoke "" is not a public key/],
    [['writers', 'k'], /writers needs --grant PUBKEY or --revoke PUBKEY/],
    [['writers', 'k', '--grant', ok, '--revoke', ok], /writers needs --grant PUBKEY or --revoke PUBKEY/],
    [['writers', '--grant', ok], /writers needs KEY/],
    [['get', 'k', '--writers', ok], /--writers is for update/],
    [['update', 'k', 'g-counter', 'inc', '--grant', ok], /--grant is for writers/],
    [['writers', 'k', '--grant', ok, '--freeze', 'none'], /--freeze goes with writers --revoke/],
    [['writers', 'k', '--revoke', ok, '--freeze', 'some'], /is all or none, got "some"/]
  ]
  for (const [args, pattern] of cases) {
    const r = await cli(...args, '--data', nowhere)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, pattern, args.join(' '))
    assert.match(r.stderr, /\n\nusage: monoidb /, 'with the usage text')
  }
  const help = await cli('help', 'writers')
  assert.equal(help.code, 0)
  assert.match(help.stdout, /--grant[\s\S]*--revoke[\s\S]*owner/)
})
