// `monoidb inspect` and `monoidb trace` as a user types them: bad usage is refused before any daemon is
// looked for (real processes), and reports print one line per peer saying what the issue names.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { formatInspect, formatTrace } from '../../node/cli-inspect.ts'
import type { InspectReport, TraceReport } from '../../node/client.ts'

const cliPath = fileURLToPath(new URL('../../node/cli.ts', import.meta.url))

async function cli (...args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    execFile(process.execPath, [cliPath, ...args, '--data', '/nonexistent/monoidb-none'], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? null, stdout, stderr })
    })
  })
}

test('bad usage of inspect and trace is exit 2 naming what was wrong; good usage looks for the daemon', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['inspect'], /inspect needs KEY/],
    [['inspect', 'k', 'extra'], /takes 1 argument/],
    [['trace', 'k'], /trace needs WRITE/],
    [['trace', 'k', 'no-seq'], /WRITE "no-seq" is not a write id/],
    [['trace', 'k', 'r/0'], /WRITE "r\/0" is not a write id/],
    [['inspect', 'k', '--timeout', 'soon'], /--timeout must be a whole number/],
    [['inspect', 'k', '--timeout', '30001'], /--timeout must be a whole number of milliseconds from 0 to 30000/],
    [['get', 'k', '--json'], /--json is for inspect and trace/],
    [['status', '--timeout', '5'], /--timeout is for inspect and trace/]
  ]
  for (const [args, message] of cases) {
    const r = await cli(...args)
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, message, args.join(' '))
  }
  const ok = await cli('trace', 'k', 'r1/3', '--timeout', '10', '--json')
  assert.equal(ok.code, 1)
  assert.match(ok.stderr, /no daemon\.json/)
  const help = await cli('help', 'trace')
  assert.match(help.stdout, /too old/)
})

const report: InspectReport = {
  key: 'cart',
  local: { peerId: 'A', replica: 'ra', binding: { id: 'g-counter' }, summaryDigest: 'ab'.repeat(16), stateBytes: 29, recentWrites: [{ id: 'ra/1', origin: 'local', at: '2026-01-01T00:00:00.000Z', path: 'local' }, { id: 'rc/4', origin: 'C', at: '2026-01-01T00:00:01.000Z', path: 'push' }] },
  peers: [
    { peerId: 'B', replica: 'rb', state: 'behind', missing: ['ra/1', 'ra/2'], unidentified: 1, lastExchange: { at: '2026-01-01T00:00:02.000Z', path: 'repair', from: 'A' }, lastError: { at: '2026-01-01T00:00:03.000Z', reason: 'invalid', message: 'bad count', by: 'self' }, lastHeard: '2026-01-01T00:00:04.000Z' },
    { peerId: 'C', state: 'no_answer', missing: [], unidentified: null, lastExchange: null, lastError: null, lastHeard: null },
    { peerId: 'D', state: 'lacks_contract', contract: 'max-register', missing: [], unidentified: null, lastExchange: null, lastError: null, lastHeard: null },
    { peerId: 'E', state: 'not_kept', missing: [], unidentified: 0, lastExchange: null, lastError: null, lastHeard: null },
    { peerId: 'F', state: 'ahead', missing: [], unidentified: 0, lastExchange: null, lastError: null, lastHeard: null },
    { peerId: 'G', state: 'diverged', missing: ['ra/2'], unidentified: 0, lastExchange: null, lastError: { at: '2026-01-01T00:00:05.000Z', reason: 'contract_mismatch', message: 'other contract', by: 'G' }, lastHeard: null }
  ]
}

test('inspect prints the local key, its recent writes, and one line per peer in the issue\'s words', () => {
  const lines = formatInspect(report).split('\n')
  assert.match(lines[1], /binding \{"id":"g-counter"\}  digest abab.*  state 29 bytes/)
  assert.ok(lines.some(l => /ra\/1  local  2026-01-01T00:00:00.000Z/.test(l)))
  assert.ok(lines.some(l => /rc\/4  from C  2026-01-01T00:00:01.000Z by push/.test(l)))
  const line = (peer: string): string => lines.find(l => l.startsWith(`  ${peer}  `)) ?? assert.fail(`no line for ${peer}`)
  assert.match(line('B'), /behind: missing ra\/1 ra\/2, and at least one more unidentified; last exchange: repair to it at 2026-01-01T00:00:02.000Z; last error: invalid \(refused here/)
  assert.match(line('C'), /no answer \(last heard never\)/)
  assert.match(line('D'), /lacks contract max-register/)
  assert.match(line('E'), /does not keep "cart"/)
  assert.match(line('F'), /ahead/)
  assert.match(line('G'), /diverged.*missing ra\/2.*refused by it/)
})

test('trace prints who holds the write, how it arrived, and why a holder cannot be told', () => {
  const t: TraceReport = {
    key: 'cart',
    write: 'ra/2',
    status: 'too_old',
    writer: { replica: 'ra', peerId: 'A' },
    peers: [
      { peerId: 'A', self: true, state: 'equal', holds: true, arrival: { at: '2026-01-01T00:00:00.000Z', path: 'local', from: 'A', exact: true } },
      { peerId: 'B', state: 'equal', holds: true, arrival: { at: '2026-01-01T00:00:09.000Z', path: 'repair', from: 'A', exact: false } },
      { peerId: 'C', state: 'no_answer', holds: null, arrival: null, lastHeard: null },
      { peerId: 'D', state: 'lacks_contract', holds: false, arrival: null },
      { peerId: 'E', state: 'equal', holds: true, arrival: { at: '2026-01-01T00:00:01.000Z', path: 'push', from: 'A', exact: true } }
    ]
  }
  const text = formatTrace(t)
  assert.match(text, /E  holds it; arrived 2026-01-01T00:00:01.000Z by push from A \(a push naming the write: the pusher's claim, not proof\)/)
  assert.match(text, /too old for its writer's delta log/)
  assert.match(text, /A \(this peer\)  holds it; arrived 2026-01-01T00:00:00.000Z by local\n/)
  assert.match(text, /B  holds it; arrived 2026-01-01T00:00:09.000Z by repair from A \(the first change/)
  assert.match(text, /C  unknown \(no answer; last heard never\)/)
  assert.match(text, /D  does not hold it \(lacks the key's contract\)/)
})
