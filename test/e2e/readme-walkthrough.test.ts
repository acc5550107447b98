// The README's "Set up" walkthrough, as a new user runs it: two daemons started with the README's own
// commands, then its CLI commands, whose printed values must match the README's comments. The commands
// are taken from README.md; only `npm start --` / `npm run monoidb --` become the scripts they run
// (node/daemon.ts, node/cli.ts) and the data folders `a` and `b` move to a temp folder.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { until } from '../helpers/node-fixtures.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const tmp = await mkdtemp(join(tmpdir(), 'monoidb-readme-walk-'))
const procs: ChildProcess[] = []
after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
  await rm(tmp, { recursive: true, force: true })
})

/** The shell lines of the README's "Set up" section, in order. */
async function setupCommands (): Promise<string[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## Set up'), readme.indexOf('\n## ', readme.indexOf('## Set up') + 1))
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap(m => m[1].split('\n')).filter(l => l.trim() !== '')
}

/** A README line as it runs here: the scripts npm would run, with Node 24 and the data folders under `tmp`. */
function local (line: string): string {
  return line
    .replace(/^npm start -- /, `exec "${process.execPath}" node/daemon.ts `)
    .replace(/^npm run monoidb -- /, `exec "${process.execPath}" node/cli.ts `)
    .replace(/--data ([ab])\b/g, (_, d: string) => `--data ${join(tmp, d)}`)
    .replace(/\.\/([ab])\/daemon\.json/g, (_, d: string) => join(tmp, d, 'daemon.json'))
    .replace(/\bnode -p /g, `"${process.execPath}" -p `)
}

function run (line: string): { proc: ChildProcess, out: () => string, stdout: () => string, exited: Promise<number | null> } {
  const proc = spawn('bash', ['-c', local(line)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  procs.push(proc)
  let out = ''
  let stdout = ''
  proc.stdout!.on('data', b => { out += String(b); stdout += String(b) })
  proc.stderr!.on('data', b => { out += String(b) })
  return { proc, out: () => out, stdout: () => stdout, exited: new Promise(resolve => proc.once('exit', code => { resolve(code) })) }
}

const exists = async (path: string): Promise<boolean> => await stat(path).then(() => true, () => false)

test('the README walkthrough: two daemons in two terminals replicate a key written with the CLI', { timeout: 60_000 }, async () => {
  const lines = await setupCommands()
  const daemons = lines.filter(l => l.startsWith('npm start -- --data'))
  const cli = lines.filter(l => l.startsWith('npm run monoidb -- '))
  assert.equal(daemons.length, 2, `two daemon commands in README "Set up": ${daemons.join(' | ')}`)
  assert.ok(cli.length >= 3, 'update, get and watch commands in README "Set up"')

  const a = run(daemons[0])
  await until('daemon A to write daemon.json', async () => await exists(join(tmp, 'a', 'daemon.json')), 20_000)
  const b = run(daemons[1])
  await until('daemon B to write daemon.json', async () => await exists(join(tmp, 'b', 'daemon.json')), 20_000)
  const bInfo = JSON.parse(await readFile(join(tmp, 'b', 'daemon.json'), 'utf8'))
  const aInfo = JSON.parse(await readFile(join(tmp, 'a', 'daemon.json'), 'utf8'))
  assert.notEqual(aInfo.peerId, bInfo.peerId)

  for (const line of cli) {
    const expected = /#\s*(\S+)\s*$/.exec(line)?.[1]
    if (line.includes(' watch ')) {
      // Runs until Ctrl-C: its first line is the key's current value, as `get` printed it.
      const w = run(line.replace(/\s+#.*$/, ''))
      await until('watch to print the current value', () => w.out().includes('\n'), 10_000)
      assert.deepEqual(JSON.parse(w.out().split('\n')[0]), { key: 'visits', contract: { id: 'pn-counter' }, value: 5 })
      w.proc.kill('SIGINT')
      await w.exited
      continue
    }
    const c = run(line.replace(/\s+#.*$/, ''))
    assert.equal(await c.exited, 0, `${line}\n${c.out()}`)
    // What the comment shows is stdout (an update's write id goes to stderr, for scripts that pipe the value).
    if (expected !== undefined) assert.equal(c.stdout().trim(), expected, line)
    if (line.includes(' update ')) assert.match(c.out(), /^write [0-9a-f]{24}\/1$/m, `${line}: the write id on stderr`)
  }

  // Ctrl-C in each terminal: a clean stop.
  a.proc.kill('SIGINT'); b.proc.kill('SIGINT')
  assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0], a.out() + b.out())
})
