// Swarm key files: `monoidb swarm-key` writes pnet's format (mode 0600, never over a file); reading one checks
// the file and the format, naming the file and never quoting the key; createNode checks its swarmKey and
// allowPeers options before anything starts.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKey } from '@libp2p/pnet'
import { connectionOptions } from '../../node/node-access.ts'
import { SwarmKeyError, newSwarmKey, parseSwarmKey, readSwarmKey, runSwarmKey, writeSwarmKey } from '../../node/swarm-key.ts'

const dir = await mkdtemp(join(tmpdir(), 'monoidb-access-swarm-key-'))
after(async () => { await rm(dir, { recursive: true, force: true }) })

const HEX = 'ab'.repeat(32)

test('writeSwarmKey writes a new key, mode 0600, in pnet\'s format; refuses an existing file; each key differs', async () => {
  const file = join(dir, 'k1')
  await writeSwarmKey(file)
  assert.equal((await stat(file)).mode & 0o777, 0o600)
  const text = await readFile(file, 'utf8')
  assert.match(text, /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
  assert.deepEqual(await readSwarmKey(file), new TextEncoder().encode(text.trimEnd()))
  await assert.rejects(writeSwarmKey(file), (err: Error) => err instanceof SwarmKeyError && /k1 already exists: not overwritten/.test(err.message))
  assert.equal(await readFile(file, 'utf8'), text, 'unchanged')
  assert.notEqual(newSwarmKey(), newSwarmKey())
  // The CLI command: exit codes and messages.
  const lines: string[] = []
  const log = console.log; const error = console.error
  console.log = (m: string) => { lines.push(m) }; console.error = (m: string) => { lines.push(m) }
  try {
    assert.equal(await runSwarmKey([join(dir, 'k2')]), 0)
    assert.equal(await runSwarmKey([join(dir, 'k2')]), 1)
    assert.equal(await runSwarmKey([]), 2)
    assert.equal(await runSwarmKey(['a', 'b']), 2)
    assert.equal(await runSwarmKey(['--force']), 2)
  } finally {
    console.log = log; console.error = error
  }
  assert.match(lines[0], /wrote a new swarm key to .*k2 \(mode 0600\)/)
  assert.match(lines[1], /already exists/)
  assert.match(lines[2], /FILE is needed/)
  assert.ok(!lines.join('\n').includes((await readFile(join(dir, 'k2'), 'utf8')).split('\n')[2]), 'the key is never printed')
})

test('a key pnet\'s own generator wrote is read as it is; CRLF and upper-case hex too', async () => {
  const bytes = new Uint8Array(95)
  generateKey(bytes)
  assert.deepEqual(parseSwarmKey(bytes, 'f'), bytes)
  const crlf = new TextEncoder().encode(`/key/swarm/psk/1.0.0/\r\n/base16/\r\n${HEX.toUpperCase()}\r\n`)
  assert.deepEqual(parseSwarmKey(crlf, 'f'), new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${HEX}`))
})

test('a bad key is refused naming the file and what is wrong, never quoting the key', async () => {
  const cases: Array<[string, RegExp]> = [
    ['', /first line must be \/key\/swarm\/psk\/1\.0\.0\//],
    [`/key/swarm/psk/2.0.0/\n/base16/\n${HEX}\n`, /first line must be/],
    [`/key/swarm/psk/1.0.0/\n/base64/\n${HEX}\n`, /second line must be \/base16\//],
    [`/key/swarm/psk/1.0.0/\n/base16/\n${HEX.slice(2)}\n`, /third line must be the key, 64 hex digits/],
    [`/key/swarm/psk/1.0.0/\n/base16/\n${HEX.slice(1)}z\n`, /third line must be the key/],
    [`/key/swarm/psk/1.0.0/\n/base16/\n${HEX}\nextra\n`, /nothing may follow it/]
  ]
  for (const [text, why] of cases) {
    assert.throws(() => parseSwarmKey(new TextEncoder().encode(text), '/x/key.file'), (err: Error) => err instanceof SwarmKeyError && err.message.includes('/x/key.file') && why.test(err.message) && !err.message.includes(HEX.slice(2, 40)), JSON.stringify(text))
  }
  const open = join(dir, 'open')
  await writeFile(open, newSwarmKey(), { mode: 0o600 })
  await chmod(open, 0o640)
  await assert.rejects(readSwarmKey(open), /has mode 640: others may read it/)
  await assert.rejects(readSwarmKey(join(dir, 'missing')), /cannot read swarm key .*missing: ENOENT/)
  await assert.rejects(readSwarmKey(dir), /is not a regular file/)
  const big = join(dir, 'big')
  await writeFile(big, 'x'.repeat(5_000), { mode: 0o600 })
  await assert.rejects(readSwarmKey(big), /is 5000 bytes: not a swarm key/)
})

test('createNode\'s swarmKey and allowPeers are checked by name before anything starts', () => {
  const key = new TextEncoder().encode(newSwarmKey())
  assert.ok(connectionOptions({ swarmKey: key }).swarmKey instanceof Uint8Array)
  assert.throws(() => connectionOptions({ swarmKey: 'a path' }), /options\.swarmKey must be a key file's bytes/)
  assert.throws(() => connectionOptions({ swarmKey: new Uint8Array(10) }), /swarm key options\.swarmKey is not a swarm key/)
  const peer = '12D3KooWGZbo5dsP4G2z9se8GxQZMeQgsd4CWn9V4Y1xAB8PuqCV'
  assert.deepEqual([...connectionOptions({ allowPeers: [peer] }).allowPeers!], [peer])
  assert.throws(() => connectionOptions({ allowPeers: peer }), /options\.allowPeers must be an array of peer id strings/)
  assert.throws(() => connectionOptions({ allowPeers: ['nope'] }), /options\.allowPeers: "nope" is not a libp2p peer id/)
})
