// Owned keys across three real daemon processes, each with its own --signing-key: A (the owner) creates a key
// naming B as a writer; B writes, C (no writer) is refused at C; all converge on A's and B's writes; A revokes B,
// and B's later writes are refused at B. C also gossips a forged change (test/fixtures/owned-forger.ts): A and B
// refuse it as unauthorized_write and never merge it. The CLI is used where users would: update --writers, writers, a 403.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateSigningKey, ownedBinding } from '../../core/envelope/index.ts'
import type { ApiError, MonoidbClient } from '../../node/client.ts'
import { type DaemonProcess, daemonFixtures, sortedJson, untilMeshed } from '../helpers/daemon-fixtures.ts'
import { until } from '../helpers/node-fixtures.ts'

const cliPath = fileURLToPath(new URL('../../node/cli.ts', import.meta.url))
const FORGER = fileURLToPath(new URL('../fixtures/owned-forger.ts', import.meta.url))
const fx = await daemonFixtures('owned-node')
const keysDir = await mkdtemp(join(tmpdir(), 'monoidb-owned-node-e2e-keys-'))
const [ka, kb, kc] = [generateSigningKey(), generateSigningKey(), generateSigningKey()]
const [A, B, C] = [ka.key.publicKey, kb.key.publicKey, kc.key.publicKey]
let a: DaemonProcess, b: DaemonProcess, c: DaemonProcess

before(async () => {
  const files = await Promise.all([ka, kb, kc].map(async (k, i) => {
    const file = join(keysDir, `k${i}.pem`)
    await writeFile(file, k.pem, { mode: 0o600 })
    return file
  }))
  a = await fx.start({ args: ['--signing-key', files[0]] })
  b = await fx.start({ bootstrap: [a.info.multiaddrs[0]], args: ['--signing-key', files[1]] })
  // C runs the real daemon, patched to gossip a forged change on SIGUSR2 (test/fixtures/owned-forger.ts).
  const forge = { key: 'doc', binding: ownedBinding('doc', { id: 'or-set' }, [A, B]), value: 'forged' }
  c = await fx.start({ bootstrap: [a.info.multiaddrs[0], b.info.multiaddrs[0]], args: ['--signing-key', files[2]], script: FORGER, env: { MONOIDB_FORGE: JSON.stringify(forge) } })
  await untilMeshed([a, b, c], 15_000)
}, { timeout: 60_000 })
after(async () => {
  await fx.cleanup()
  await rm(keysDir, { recursive: true, force: true })
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

async function refused (client: MonoidbClient, value: string): Promise<void> {
  await assert.rejects(client.update('doc', 'or-set', 'add', [value]), (err: ApiError) => {
    assert.equal(err.status, 403)
    assert.equal(err.code, 'unauthorized_write')
    return true
  })
}

const written = async (d: DaemonProcess): Promise<number> => (await d.client.journal({ key: 'doc' })).records.filter(r => r.kind === 'written').length

test('A creates an owned key naming B; B writes, C is refused at C; all converge; A revokes B and B is refused at B', { timeout: 90_000 }, async () => {
  assert.deepEqual((await Promise.all([a, b, c].map(async d => (await d.client.status()).publicKey))), [A, B, C], 'each daemon shows its public key')

  // A creates it with the CLI: the value on stdout, the write id on stderr.
  const created = await cli('update', 'doc', 'or-set', 'add', '"from-a"', '--writers', `${A},${B}`, '--data', a.dir)
  assert.equal(created.code, 0, created.stderr)
  assert.equal(created.stdout, '["from-a"]\n')
  assert.deepEqual(await a.client.get('doc'), { key: 'doc', contract: { id: 'or-set' }, value: ['from-a'], owner: A, writers: [A, B] })

  // B and C read it as any reader does.
  for (const d of [b, c]) assert.deepEqual((await d.client.get('doc', { wait: 10_000 })).writers, [A, B])
  const fromB = await b.client.update('doc', 'or-set', 'add', ['from-b'])
  assert.deepEqual(sortedJson(fromB.value), sortedJson(['from-a', 'from-b']))

  const cWrites = await written(c)
  await refused(c.client, 'from-c')
  assert.equal(await written(c), cWrites, 'C wrote nothing, so sent nothing')

  // C forges: a change signed by its own key, gossiped as a change of the key. A and B refuse it and say why.
  c.proc.kill('SIGUSR2')
  await until('C to publish its forgery', () => c.output().includes('owned-forger: published'), 10_000)
  for (const d of [a, b]) {
    await until(`${d === a ? 'A' : 'B'} to refuse the forgery`, async () => (await d.client.journal({ key: 'doc', peer: c.info.peerId })).records.some(r => r.kind === 'refused' && r.reason === 'unauthorized_write'), 10_000)
  }
  const metrics = await (await fetch(`${a.info.api}/metrics`, { headers: { authorization: `Bearer ${a.info.token}` } })).text()
  assert.match(metrics, /monoidb_deltas_total\{[^}]*reason="unauthorized_write"[^}]*\} [1-9]/, 'counted in the metrics')

  await until('all three to hold A\'s and B\'s writes', async () => {
    for (const d of [a, b, c]) if (sortedJson((await d.client.get('doc')).value) !== sortedJson(['from-a', 'from-b'])) return false
    return true
  }, 20_000)

  // B cannot change the writers; A revokes B with the CLI.
  await assert.rejects(b.client.writers('doc', { grant: [C] }), (err: ApiError) => err.status === 403 && err.code === 'unauthorized_write')
  const revoked = await cli('writers', 'doc', '--revoke', B, '--data', a.dir)
  assert.equal(revoked.code, 0, revoked.stderr)
  assert.deepEqual(JSON.parse(revoked.stdout), { key: 'doc', owner: A, writers: [A] })
  await until('B to learn it was revoked', async () => JSON.stringify((await b.client.get('doc')).writers) === JSON.stringify([A]), 20_000)

  // B's later write is refused at B: through the CLI, exit 1 with one line naming the code.
  const bWrites = await written(b)
  const late = await cli('update', 'doc', 'or-set', 'add', '"late-b"', '--data', b.dir)
  assert.equal(late.code, 1, late.stderr)
  assert.equal(late.stdout, '')
  assert.match(late.stderr, /^monoidb: unauthorized_write: .*is not a writer of key "doc"\n$/)
  assert.equal(await written(b), bWrites, 'B wrote nothing, so sent nothing')

  // A still writes; everyone converges, B's writes made while it was a writer kept.
  await a.client.update('doc', 'or-set', 'add', ['after'])
  await until('all three to converge after the revoke', async () => {
    for (const d of [a, b, c]) {
      const v = await d.client.get('doc')
      if (sortedJson(v.value) !== sortedJson(['from-a', 'from-b', 'after']) || JSON.stringify(v.writers) !== JSON.stringify([A])) return false
    }
    return true
  }, 20_000)
})
