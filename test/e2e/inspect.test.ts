// `monoidb inspect` and `monoidb trace` on real daemons: a peer that missed pushes, a peer that lacks
// a contract, and a peer reached only through another.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { InspectReport, TraceReport } from '../../node/client.ts'
import { type DaemonProcess, daemonFixtures, untilMeshed } from '../helpers/daemon-fixtures.ts'
import { until } from '../helpers/node-fixtures.ts'

const CLI = fileURLToPath(new URL('../../node/cli.ts', import.meta.url))
const DROPPER = fileURLToPath(new URL('../fixtures/push-dropper.ts', import.meta.url))
const MAX_REGISTER = fileURLToPath(new URL('../fixtures/max-register.ts', import.meta.url))
const run = promisify(execFile)
const fixtures = await daemonFixtures('inspect')
after(async () => { await fixtures.cleanup() })

async function cli (d: DaemonProcess, ...args: string[]): Promise<string> {
  return (await run(process.execPath, [CLI, ...args, '--data', d.dir], { timeout: 30_000 })).stdout
}

/** The replica id the daemon printed in its ready line. */
function replicaOf (d: DaemonProcess): string {
  const m = /replica (\S+)/.exec(d.output())
  assert.ok(m !== null, d.output())
  return m[1]
}

const peerOf = (r: InspectReport, d: DaemonProcess): InspectReport['peers'][number] | undefined => r.peers.find(p => p.peerId === d.info.peerId)

test('a peer that missed every push of a key is behind by exactly those writes; after a repair it is equal and trace says how the write came', async () => {
  const a = await fixtures.start({ script: DROPPER, env: { MONOIDB_DROP_KEY: 'cart' }, args: ['--replicate-all'] })
  const b = await fixtures.start({ bootstrap: a.info.multiaddrs, args: ['--replicate-all'] })
  await untilMeshed([a, b])
  for (let i = 0; i < 3; i++) await a.client.update('cart', 'g-counter', 'inc', [1])
  const ids = [1, 2, 3].map(seq => `${replicaOf(a)}/${seq}`)
  // Another key's push goes through: only the one key's pushes are dropped. Another contract, so that its push is
  // never the message that also carries cart's last write (one contract per push: PROTOCOL.md §3).
  await a.client.update('other', 'pn-counter', 'inc', [1])
  await until('B to receive the other key by push', async () => (await b.client.get('other', { wait: 0 }).catch(() => undefined)) !== undefined, 10_000)
  await assert.rejects(b.client.get('cart', { wait: 0 }), { code: 'not_found' })

  const report = JSON.parse(await cli(a, 'inspect', 'cart', '--json', '--timeout', '1500')) as InspectReport
  assert.equal(report.key, 'cart')
  assert.deepEqual(report.local.binding, { id: 'g-counter' })
  assert.match(report.local.summaryDigest ?? '', /^[0-9a-f]{32}$/)
  assert.deepEqual(report.local.recentWrites.map(w => w.id), ids)
  const pb = peerOf(report, b)
  assert.ok(pb !== undefined, JSON.stringify(report))
  assert.equal(pb.state, 'behind')
  assert.deepEqual(pb.missing, ids, 'exactly the dropped writes, oldest first')
  assert.equal(pb.unidentified, 0)
  assert.equal(typeof pb.lastHeard, 'string')

  const human = await cli(a, 'inspect', 'cart', '--timeout', '1500')
  assert.match(human, new RegExp(`${b.info.peerId}  behind: missing ${ids.join(' ')}`), human)

  const before = JSON.parse(await cli(a, 'trace', 'cart', ids[2], '--json', '--timeout', '1500')) as TraceReport
  assert.equal(before.status, 'ok')
  assert.equal(before.writer.peerId, a.info.peerId)
  assert.equal(before.peers.find(p => p.peerId === b.info.peerId)?.holds, false, 'B does not hold the write yet')

  // Anti-entropy resumes: the next round repairs what the pushes lost.
  a.proc.kill('SIGUSR2')
  await until('B to be equal to A', async () => peerOf(await a.client.inspect('cart', { timeout: 1000 }), b)?.state === 'equal', 20_000)
  assert.equal((await b.client.get('cart', { wait: 0 })).value, 3)

  const t = await a.client.trace('cart', ids[2], { timeout: 1500 })
  const tb = t.peers.find(p => p.peerId === b.info.peerId)
  assert.equal(tb?.holds, true)
  // Needs the journal's recording of merges with write ids (issue 10 §4, the ids branch): the write reached B by repair.
  assert.equal(tb?.arrival?.path, 'repair', JSON.stringify(t))
  assert.equal(tb?.arrival?.from, a.info.peerId)
})

test('a peer lacking the key\'s contract is reported as such, and trace says it does not hold the write', async () => {
  const a = await fixtures.start({ args: ['--replicate-all', '--contract', MAX_REGISTER] })
  const b = await fixtures.start({ bootstrap: a.info.multiaddrs, args: ['--replicate-all'] })
  await untilMeshed([a, b])
  await a.client.update('top', 'max-register', 'set', [5])
  let report: InspectReport | undefined
  await until('B to report lacking max-register', async () => {
    report = await a.client.inspect('top', { timeout: 1000 })
    return peerOf(report, b)?.state === 'lacks_contract'
  }, 15_000)
  assert.equal(peerOf(report!, b)?.contract, 'max-register')
  const human = await cli(a, 'inspect', 'top', '--timeout', '1000')
  assert.match(human, /lacks contract max-register/)

  const t = await a.client.trace('top', `${replicaOf(a)}/1`, { timeout: 1000 })
  assert.equal(t.status, 'ok')
  const tb = t.peers.find(p => p.peerId === b.info.peerId)
  assert.equal(tb?.state, 'lacks_contract')
  assert.equal(tb?.holds, false)
  assert.equal(t.peers.find(p => p.self === true)?.holds, true)
  const traced = await cli(a, 'trace', 'top', `${replicaOf(a)}/1`, '--timeout', '1000')
  assert.match(traced, new RegExp(`${b.info.peerId}  does not hold it \\(lacks the key's contract\\)`), traced)
})

test('in a line A—B—C, inspect on A reports C through B; a stopped peer is no_answer with when it was last heard', async () => {
  const a = await fixtures.start({ args: ['--replicate-all'] })
  const b = await fixtures.start({ bootstrap: a.info.multiaddrs, args: ['--replicate-all'] })
  const c = await fixtures.start({ bootstrap: b.info.multiaddrs, args: ['--replicate-all'] })
  await untilMeshed([a, b])
  await untilMeshed([b, c])
  await a.client.update('line', 'or-set', 'add', ['x'])
  let report: InspectReport | undefined
  // B's answer and C's (relayed through B) come separately, so one report can catch B's from before the write.
  await until('B and C to be equal to A, as inspect on A sees it', async () => {
    report = await a.client.inspect('line', { timeout: 1000 })
    return peerOf(report, c)?.state === 'equal' && peerOf(report, b)?.state === 'equal'
  }, 20_000)
  assert.ok(!(await a.client.peers()).some(p => p.peerId === c.info.peerId), 'A is not connected to C: C answered through B')
  assert.equal(peerOf(report!, b)?.state, 'equal')

  // Bad input: a malformed write id and a bad timeout are refused, naming what was wrong.
  await assert.rejects(a.client.trace('line', 'not-an-id'), (e: { code: string, status: number, message: string }) => e.status === 400 && e.code === 'bad_write_id' && e.message.includes('not-an-id'))
  await assert.rejects(a.client.inspect('line', { timeout: 99_999 }), (e: { code: string, status: number }) => e.status === 400 && e.code === 'bad_timeout')
  await assert.rejects(cli(a, 'trace', 'line', 'nope'), (e: { code: number, stderr: string }) => e.code === 2 && /WRITE "nope" is not a write id/.test(e.stderr))

  // C goes away: A knows it answered before, and says when.
  await c.stop()
  const gone = peerOf(await a.client.inspect('line', { timeout: 800 }), c)
  assert.equal(gone?.state, 'no_answer')
  assert.ok(gone?.lastHeard !== null && Date.parse(gone!.lastHeard) > Date.now() - 60_000, JSON.stringify(gone))
})
