// Real `monoidb daemon` processes over a damaged or uncleanly stopped store folder, and `monoidb repair`:
// a damaged store is refused (exit 1, naming the problem and the repair), never started empty; the repair
// recovers its keys; a start after a repair or a kill -9 takes a new replica id, a clean restart keeps it.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { encode } from '../../core/codec.ts'
import { META_KEY, keyBytes, recordKey } from '../../core/key-layout.ts'
import { LevelStorage } from '../../core/level-storage.ts'
import { type DaemonProcess, daemonFixtures } from '../helpers/daemon-fixtures.ts'

const fx = await daemonFixtures('store-damage')
after(async () => { await fx.cleanup() })

const CLI = fileURLToPath(new URL('../../node/cli.ts', import.meta.url))

interface Run { code: number | null, stdout: string, stderr: string }

/** Runs `node node/cli.ts ...args` to its end. */
async function cli (args: readonly string[]): Promise<Run> {
  return await new Promise(resolve => {
    execFile(process.execPath, [CLI, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
}

/** Runs a daemon that is expected to refuse to start: its exit code and output. */
async function failingDaemon (dir: string): Promise<Run> {
  const proc = spawn(process.execPath, [CLI, 'daemon', '--data', dir, '--api', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''; let stderr = ''
  proc.stdout.on('data', b => { stdout += String(b) })
  proc.stderr.on('data', b => { stderr += String(b) })
  const guard = setTimeout(() => proc.kill('SIGKILL'), 20_000) // never hang the suite
  const code = await new Promise<number | null>(resolve => proc.once('exit', c => { resolve(c) }))
  clearTimeout(guard)
  return { code, stdout, stderr }
}

/** The replica id a daemon printed in its ready line. */
function replicaOf (d: DaemonProcess): string {
  const m = / replica (\S+) /.exec(d.output())
  assert.ok(m !== null, `no replica in the ready line: ${d.output()}`)
  return m[1]
}

/** The store's data files (LevelDB's info log and lock aside). */
async function dataFiles (dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'store'))).filter(f => !/^(LOG|LOG\.old|LOCK)$/.test(f)).sort()
}

/** The store's data files with a hash of each: what a refused start must leave as it was. */
async function contents (dir: string): Promise<Array<[string, string]>> {
  const store = join(dir, 'store')
  return await Promise.all((await dataFiles(dir)).map(async f => [f, createHash('sha256').update(await readFile(join(store, f))).digest('hex')] as [string, string]))
}

const KEYS = 31

test('a clean stop keeps the replica id; a kill -9 takes a new one at the next start, saying why', { timeout: 60_000 }, async () => {
  const first = await fx.start()
  const id = replicaOf(first)
  await first.client.update('k', 'or-set', 'add', ['one'])
  assert.equal(await first.stop(), 0)
  const second = await fx.start({ dir: first.dir })
  assert.equal(replicaOf(second), id, 'a clean stop and start keeps the replica id')
  assert.doesNotMatch(second.output(), /new replica|from now on/)
  await second.client.update('k', 'or-set', 'add', ['two'])
  await second.kill('SIGKILL')
  const third = await fx.start({ dir: first.dir })
  const next = replicaOf(third)
  assert.notEqual(next, id, 'a kill -9 is an unclean stop: a new replica id')
  assert.match(third.output(), new RegExp(`was not stopped cleanly .*writes as replica ${next} from now on \\(was ${id}\\)`))
  assert.deepEqual([...(await third.client.get('k')).value as string[]].sort(), ['one', 'two'], 'nothing acknowledged was lost')
  assert.equal(await third.stop(), 0)
})

test('CURRENT deleted: the daemon exits 1 naming the problem and monoidb repair; the repair recovers every key; the next start takes a new replica id', { timeout: 90_000 }, async () => {
  const d = await fx.start()
  const id = replicaOf(d)
  for (let i = 0; i < KEYS; i++) await d.client.update(`key/${i}`, 'pn-counter', 'inc', [i + 1])
  assert.equal(await d.stop(), 0)
  // One more start and stop moves the writes from LevelDB's log into its .ldb tables, where a CURRENT-less
  // open cannot find them (it would replay a log, not tables).
  const again = await fx.start({ dir: d.dir })
  assert.equal(replicaOf(again), id)
  assert.equal(await again.stop(), 0)
  assert.ok((await dataFiles(d.dir)).some(f => f.endsWith('.ldb')), 'the data is in tables')
  await unlink(join(d.dir, 'store', 'CURRENT'))
  const before = await dataFiles(d.dir)

  const refused = await failingDaemon(d.dir)
  assert.equal(refused.code, 1, `exit code (null: it ran until killed); stdout: ${refused.stdout.slice(0, 300)} stderr: ${refused.stderr}`)
  assert.match(refused.stderr, /holds files but LevelDB finds no database in it \(its CURRENT file is missing/)
  assert.match(refused.stderr, /Not starting it empty/)
  assert.ok(refused.stderr.includes(`monoidb repair --data ${d.dir}`), refused.stderr)
  assert.doesNotMatch(refused.stdout, /ready/)
  assert.deepEqual(await dataFiles(d.dir), before, 'the refused start changed no file of the store')

  const repaired = await cli(['repair', '--data', d.dir])
  assert.equal(repaired.code, 0, repaired.stderr)
  assert.match(repaired.stdout, new RegExp(`recovered ${KEYS} keys in .*; the next start takes a new replica id \\(it was replica ${id}\\)`))

  const after = await fx.start({ dir: d.dir })
  assert.notEqual(replicaOf(after), id, 'a new replica id after the repair')
  assert.match(after.output(), /the store was repaired/)
  assert.equal((await after.client.status()).keys, KEYS)
  for (let i = 0; i < KEYS; i++) assert.equal((await after.client.get(`key/${i}`)).value, i + 1)
  assert.equal(await after.stop(), 0)
})

test('MANIFEST deleted: the daemon exits 1 naming the missing file and monoidb repair, changing no file; the repair rebuilds the manifest and recovers every key', { timeout: 90_000 }, async () => {
  const d = await fx.start()
  const id = replicaOf(d)
  for (let i = 0; i < KEYS; i++) await d.client.update(`key/${i}`, 'pn-counter', 'inc', [i + 1])
  assert.equal(await d.stop(), 0)
  const again = await fx.start({ dir: d.dir }) // the writes move into tables
  assert.equal(await again.stop(), 0)
  const manifests = (await dataFiles(d.dir)).filter(f => f.startsWith('MANIFEST-'))
  assert.equal(manifests.length, 1)
  await unlink(join(d.dir, 'store', manifests[0]))
  const before = await contents(d.dir)

  const refused = await failingDaemon(d.dir)
  assert.equal(refused.code, 1, `exit code (null: it ran until killed); stdout: ${refused.stdout.slice(0, 300)} stderr: ${refused.stderr}`)
  assert.match(refused.stderr, new RegExp(`cannot be opened as the database it was \\(LevelDB: IO error: .*${manifests[0]}: No such file or directory\\)`))
  assert.match(refused.stderr, /Not starting it empty/)
  assert.ok(refused.stderr.includes(`monoidb repair --data ${d.dir}`), refused.stderr)
  assert.doesNotMatch(refused.stdout, /ready/)
  assert.deepEqual(await contents(d.dir), before, 'the refused start changed no file of the store')

  const repaired = await cli(['repair', '--data', d.dir])
  assert.equal(repaired.code, 0, repaired.stderr)
  assert.match(repaired.stdout, new RegExp(`recovered ${KEYS} keys in .*; the next start takes a new replica id \\(it was replica ${id}\\)`))
  assert.ok((await dataFiles(d.dir)).some(f => f.startsWith('MANIFEST-')), 'the repair wrote a new manifest')

  const after = await fx.start({ dir: d.dir })
  assert.notEqual(replicaOf(after), id, 'a new replica id after the repair')
  assert.equal((await after.client.status()).keys, KEYS)
  for (let i = 0; i < KEYS; i++) assert.equal((await after.client.get(`key/${i}`)).value, i + 1)
  assert.equal(await after.stop(), 0)
})

test('a store of format 2 (no clean-close marker) is upgraded under a new replica id, the daemon saying why, and keeps its data', { timeout: 60_000 }, async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'monoidb-e2e-format2-')), 'data')
  try {
    // What a format-2 daemon left: its meta record (no marker) and a key written under its id.
    const storage = await LevelStorage.open(join(dir, 'store'))
    await storage.batch([
      { type: 'put', key: META_KEY, value: encode({ format: 2, replica: 'old2' }) },
      { type: 'put', key: recordKey(keyBytes('n')), value: encode({ c: 'pn-counter', s: { p: [['old2', 7]], n: [] }, q: 7 }) }
    ])
    await storage.close()
    const d = await fx.start({ dir })
    const id = replicaOf(d)
    assert.notEqual(id, 'old2')
    assert.match(d.output(), new RegExp(`was upgraded from store format 1 or 2, which recorded no clean stop, so it may have lost its newest writes: it writes as replica ${id} from now on \\(was old2\\)`))
    assert.equal((await d.client.get('n')).value, 7)
    await d.client.update('n', 'pn-counter', 'inc', [1])
    assert.equal(await d.stop(), 0)
    const again = await fx.start({ dir })
    assert.equal(replicaOf(again), id, 'upgraded and stopped cleanly: the id is kept')
    assert.doesNotMatch(again.output(), /from now on/)
    assert.equal((await again.client.get('n')).value, 8)
    assert.equal(await again.stop(), 0)
  } finally {
    await rm(dirname(dir), { recursive: true, force: true })
  }
})

test('monoidb repair refuses a folder in use (exit 1), one without a store (exit 1) and bad usage (exit 2), changing nothing', { timeout: 60_000 }, async () => {
  const d = await fx.start()
  await d.client.update('k', 'pn-counter', 'inc', [1])
  const before = await dataFiles(d.dir)
  const inUse = await cli(['repair', '--data', d.dir])
  assert.equal(inUse.code, 1)
  assert.match(inUse.stderr, /^monoidb: repair: data folder is in use by another monoidb daemon, pid \d+/)
  assert.equal((await d.client.get('k')).value, 1, 'the daemon runs on')
  assert.equal(await d.stop(), 0)
  assert.deepEqual((await dataFiles(d.dir)).filter(f => !f.endsWith('.log')), before.filter(f => !f.endsWith('.log')), 'no table was touched')

  const none = await cli(['repair', '--data', join(d.dir, 'nothing-here')])
  assert.equal(none.code, 1)
  assert.match(none.stderr, /no store to repair in .*nothing-here\/store/)

  const bad = await cli(['repair', '--data', d.dir, '--force'])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /Unknown option '--force'[\s\S]*usage: monoidb repair/)

  const help = await cli(['help', 'repair'])
  assert.equal(help.code, 0)
  assert.match(help.stdout, /^usage: monoidb repair \[--data DIR\]/)
})
