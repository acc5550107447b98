// `monoidb check-contract` as a contract author's CI runs it: a real process, exit codes, and replays pasted back.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const cliPath = fileURLToPath(new URL('../../node/cli.ts', import.meta.url))
const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
const dirs: string[] = []
after(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })

interface Run { code: number | null, stdout: string, stderr: string }

async function check (...args: string[]): Promise<Run> {
  return await new Promise(resolve => {
    execFile(process.execPath, [cliPath, 'check-contract', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
}

test('a lawful module passes: exit 0, one ok line per contract', { timeout: 60_000 }, async () => {
  const r = await check(fixture('max-register.ts'), '--runs', '100')
  assert.equal(r.code, 0, r.stderr + r.stdout)
  assert.match(r.stdout, /^ok {3}max-register: 17 laws, 100 runs each, seed 1836019311 \(\d+\.\d s\)\n$/)
})

test('a broken module: exit 1, each broken law with its counterexample and a replay that reproduces it when pasted', { timeout: 60_000 }, async () => {
  const r = await check(fixture('broken-contracts/merge-by-sum.ts'))
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stdout, /^FAIL sum-counter: breaks merge-idempotent, /)
  assert.match(r.stdout, /\n {2}law merge-idempotent: merge\(a, a\) ≠ a for a=\d+: got \d+\n {4}counterexample: \{"steps":/)
  const block = r.stdout.split('\n  law ').find(b => b.startsWith('merge-idempotent'))!
  const replay = /replay: monoidb check-contract (\S+) (--seed -?\d+ --path \S+)/.exec(block)
  assert.ok(replay, block)
  const again = await check(replay[1], ...replay[2].split(' '))
  assert.equal(again.code, 1)
  // The same law, message and counterexample, and that law alone.
  assert.match(again.stdout, /^FAIL sum-counter: breaks merge-idempotent \(/)
  assert.equal(again.stdout.split('\n  law ')[1].trimEnd(), block.trimEnd())
})

test('an op of two arguments fed one value is refused by op-inputs, naming the op and lawInputs', { timeout: 60_000 }, async () => {
  const r = await check(fixture('broken-contracts/two-argument-op.ts'))
  assert.equal(r.code, 1)
  assert.match(r.stdout, /law op-inputs: op "add" accepted 0 of \d+ generated calls .*export const lawInputs = \{ "tally": \{ ops: \{ "add"/)
})

test('bad usage and unloadable modules exit 2 with a message and the usage', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'monoidb-check-'))
  dirs.push(dir)
  await writeFile(join(dir, 'none.ts'), 'export const answer = 42\n')
  await writeFile(join(dir, 'bad-inputs.ts'), `export { maxRegister } from ${JSON.stringify(fixture('max-register.ts'))}\nexport const lawInputs = { 'max-register': { ops: { sett: 1 } } }\n`)
  const cases: Array<[string[], RegExp]> = [
    [[], /MODULE is needed/],
    [[fixture('max-register.ts'), fixture('max-register.ts')], /one MODULE at a time/],
    [[fixture('max-register.ts'), '--runs', '0'], /--runs "0" must be a whole number from 1 to 1000000/],
    [[fixture('max-register.ts'), '--seed', 'x'], /--seed "x" must be an integer/],
    [[fixture('max-register.ts'), '--path', 'nope:1'], /--path: law path "nope:1" must start with a law name/],
    [[fixture('max-register.ts'), '--nope'], /Unknown option '--nope'/],
    [[join(dir, 'missing.ts')], /missing\.ts: cannot load the module/],
    [[join(dir, 'none.ts')], /none\.ts: the module exports no contract/],
    [[join(dir, 'bad-inputs.ts')], /lawInputs\["max-register"\]\.ops names op "sett", which contract "max-register" does not have/]
  ]
  for (const [args, pattern] of cases) {
    const r = await check(...args)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, pattern, args.join(' '))
    assert.match(r.stderr, /usage: monoidb check-contract MODULE/)
    assert.equal(r.stdout, '')
  }
  const help = await check('--help')
  assert.equal(help.code, 0)
  assert.match(help.stdout, /usage: monoidb check-contract MODULE \[--runs N\] \[--seed S\]/)
  const viaHelp = await new Promise<Run>(resolve => execFile(process.execPath, [cliPath, 'help', 'check-contract'], (err, stdout, stderr) => resolve({ code: err === null ? 0 : 1, stdout, stderr })))
  assert.equal(viaHelp.stdout, help.stdout)
})
