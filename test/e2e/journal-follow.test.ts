// `monoidb journal --follow` on a real daemon B shows a write made on another real daemon A arriving:
// the line names the key, the peer it came from, the path (push) and the write id A printed.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import type { JournalRecord } from '../../core/sync/journal.ts'
import { type DaemonProcess, daemonFixtures, untilMeshed } from '../helpers/daemon-fixtures.ts'
import { until } from '../helpers/node-fixtures.ts'

const CLI = fileURLToPath(new URL('../../node/cli.ts', import.meta.url))
const fx = await daemonFixtures('journal')
const followers: ChildProcess[] = []
let a: DaemonProcess, b: DaemonProcess
before(async () => {
  a = await fx.start()
  b = await fx.start({ bootstrap: [a.info.multiaddrs[0]], args: ['--replicate-all'] })
  await untilMeshed([a, b], 15_000)
}, { timeout: 40_000 })
after(async () => {
  for (const f of followers) if (f.exitCode === null && f.signalCode === null) f.kill('SIGKILL')
  await fx.cleanup()
})

/** Runs `monoidb ARGS` to completion. */
async function cli (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    execFile(process.execPath, [CLI, ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
}

test('journal --follow on B shows A\'s write arriving by push, with its write id', { timeout: 30_000 }, async () => {
  const key = 'e2e/journal/k'
  const follow = (json: boolean): { proc: ChildProcess, out: () => string } => {
    const proc = spawn(process.execPath, [CLI, 'journal', key, '--follow', ...(json ? ['--json'] : []), '--data', b.dir], { stdio: ['ignore', 'pipe', 'pipe'] })
    followers.push(proc)
    let out = ''
    proc.stdout!.on('data', d => { out += String(d) })
    return { proc, out: () => out }
  }
  const json = follow(true)
  const human = follow(false)
  // The write is made with the CLI, as a user would: its id comes on stderr.
  const wrote = await cli(['update', key, 'pn-counter', 'inc', '7', '--data', a.dir])
  assert.equal(wrote.code, 0, wrote.stderr)
  const id = /^write (\S+)\n$/.exec(wrote.stderr)?.[1]
  assert.ok(id !== undefined && id.endsWith('/1'), `A printed its write id: ${wrote.stderr}`)

  // The push's record (a session may bring the change first on a loaded machine: the push then arrives redundant).
  const records = (): JournalRecord[] => json.out().split('\n').filter(l => l !== '').map(l => JSON.parse(l) as JournalRecord)
  const merged = (): JournalRecord | undefined => records().find(r => r.kind === 'merged' && r.path === 'push')
  await until('B\'s journal to show the write arriving', () => merged() !== undefined, 15_000)
  const r = merged()!
  assert.equal(r.key, key)
  assert.equal(r.peer, a.info.peerId)
  assert.ok(r.kind === 'merged' && r.path === 'push', JSON.stringify(r))
  assert.ok(records().some(x => x.kind === 'merged' && x.changed && x.peer === a.info.peerId), 'a merge from A changed B\'s state')
  assert.deepEqual(r.kind === 'merged' && r.writes, [id])
  assert.ok(r.kind === 'merged' && r.writtenAt !== undefined && r.at >= r.writtenAt - 1_000, 'the write\'s time came with it')

  await until('the human-readable line', () => human.out().includes(id), 15_000)
  const line = human.out().split('\n').find(l => l.includes(id))!
  assert.match(line, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z #\\d+ merged "${key}" from \\S+ by push: (changed|redundant), \\d+ B writes ${id.replace('+', '\\+')} \\(\\d+ ms after the write\\)$`))

  // Without --follow: the records held, then exit 0.
  const once = await cli(['journal', key, '--json', '--data', b.dir])
  assert.equal(once.code, 0, once.stderr)
  assert.ok(once.stdout.split('\n').some(l => l.includes(id)))
  const bad = await cli(['journal', key, '--limit', '0', '--data', b.dir])
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /--limit must be a whole number ≥ 1/)

  for (const f of [json.proc, human.proc]) {
    const exited = new Promise<number | null>(resolve => f.once('exit', code => { resolve(code) }))
    f.kill('SIGINT')
    assert.equal(await exited, 0, 'interrupted: exit 0')
  }
})
