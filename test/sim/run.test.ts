// The `npm run sim` command line, run as a child process.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const script = fileURLToPath(new URL('../../sim/run.ts', import.meta.url))
const run = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' })

test('bad arguments exit 2 with the usage', () => {
  for (const args of [['--peers', '1'], ['--faults', 'flood'], ['--seed', '-3'], ['--bogus'], ['extra'], ['--schedule', '{"drop":1}']]) {
    const r = run(...args)
    assert.equal(r.status, 2, args.join(' '))
    assert.match(r.stderr, /usage: npm run sim/)
  }
})

test('a run prints convergence, rounds, traffic and the ideal, and a replay command that reproduces it exactly', () => {
  const r = run('--peers', '4', '--keys', '20', '--faults', 'drop=0.2,dup=0.2,partition', '--seed', '12')
  assert.equal(r.status, 0, r.stdout + r.stderr)
  assert.match(r.stdout, /seed 12: PASSED: converged/)
  assert.match(r.stdout, /anti-entropy round/)
  assert.match(r.stdout, /messages, .* sent/)
  assert.match(r.stdout, /ideal/)
  const replay = /replay: npm run sim -- (.*)/.exec(r.stdout)![1]
  assert.equal(replay, '--seed 12 --peers 4 --keys 20 --faults drop=0.2,dup=0.2,partition')
  const again = run(...replay.split(' '))
  const strip = (s: string): string => s.replace(/\(.* s real time\)/, '')
  assert.equal(strip(again.stdout), strip(r.stdout))
})

test('--json prints the whole result, and --schedule replays an exact schedule', () => {
  const schedule = { drop: 0.1, dup: 0, delayMs: 3, skewMs: [0, 100], partitions: [{ kind: 'split', side: [1], at: 10, heal: 500 }], crashes: [{ peer: 0, at: 600, downMs: 50, inflightOp: true }] }
  const r = run('--peers', '2', '--keys', '5', '--seed', '1', '--schedule', JSON.stringify(schedule), '--json')
  assert.equal(r.status, 0, r.stderr)
  const result = JSON.parse(r.stdout)
  assert.deepEqual(result.schedule, schedule)
  assert.deepEqual(result.problems, [])
  assert.match(result.replay, /--schedule '\{"drop":0.1,/)
})
