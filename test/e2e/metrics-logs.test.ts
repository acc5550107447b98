// Two real daemons on 127.0.0.1 that replicate: /metrics on the API port (token) and on --metrics (no
// token), parsed as Prometheus exposition; the JSON log on stdout, its level changed at runtime by the API
// and the CLI; the token in no log line.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type DaemonProcess, daemonFixtures, untilMeshed } from '../helpers/daemon-fixtures.ts'
import { until } from '../helpers/node-fixtures.ts'
import { type Family, parseMetrics, total } from '../helpers/prometheus.ts'

const cliPath = fileURLToPath(new URL('../../node/cli.ts', import.meta.url))
const KEYS = 20

const fx = await daemonFixtures('metrics')
let a: DaemonProcess, b: DaemonProcess
/** A's --metrics URL, from its ready log line. */
let metricsUrl: string
before(async () => {
  a = await fx.start({ args: ['--metrics', '127.0.0.1:0'] })
  b = await fx.start({ bootstrap: [a.info.multiaddrs[0]], args: ['--replicate-all'] })
  await untilMeshed([a, b], 15_000)
  const ready = logLines(a).find(l => String(l.msg).includes('monoidb daemon ready'))
  assert.ok(ready !== undefined, a.output())
  metricsUrl = String(ready.metrics)
}, { timeout: 40_000 })
after(async () => { await fx.cleanup() })

/** The daemon's stdout, as the JSON objects its lines must be. */
function logLines (d: DaemonProcess): Array<Record<string, unknown>> {
  const stdout = d.output().split('\nstderr: ')[0].replace(/^stdout: /, '')
  return stdout.split('\n').filter(l => l !== '').map(l => {
    try {
      return JSON.parse(l) as Record<string, unknown>
    } catch {
      throw new Error(`a stdout line is not JSON: ${l}`)
    }
  })
}

async function scrape (d: DaemonProcess): Promise<Map<string, Family>> {
  const res = await fetch(`${d.info.api}/metrics`, { headers: { authorization: `Bearer ${d.info.token}` } })
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  return parseMetrics(await res.text())
}

async function cli (...args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return await new Promise(resolve => {
    execFile(process.execPath, [cliPath, ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr })
    })
  })
}

const EXPECTED: Record<string, Family['type']> = {
  monoidb_messages_total: 'counter',
  monoidb_message_bytes_total: 'counter',
  monoidb_deltas_total: 'counter',
  monoidb_repairs_total: 'counter',
  monoidb_write_to_merge_seconds: 'histogram',
  monoidb_sessions_total: 'counter',
  monoidb_sessions: 'gauge',
  monoidb_keys: 'gauge',
  monoidb_keys_differing: 'gauge',
  monoidb_peers: 'gauge',
  monoidb_event_loop_lag_seconds: 'gauge',
  monoidb_stats_total: 'counter',
  monoidb_wants_total: 'counter',
  monoidb_session_keys_total: 'counter',
  monoidb_session_bytes_total: 'counter',
  monoidb_journal_records_total: 'counter'
}

test('after replication, both daemons\' /metrics parse as exposition with every documented name and type, and the counters moved', { timeout: 30_000 }, async () => {
  const before = await scrape(b)
  for (let i = 0; i < KEYS; i++) await a.client.update(`m/${i}`, 'pn-counter', 'inc', [i + 1])
  await until('B to hold every key', async () => (await b.client.keys('m/')).length === KEYS, 15_000)
  await until('B to hold the last value', async () => (await b.client.get(`m/${KEYS - 1}`)).value === KEYS, 10_000)

  for (const d of [a, b]) {
    const m = await scrape(d)
    for (const [name, type] of Object.entries(EXPECTED)) assert.equal(m.get(name)?.type, type, `${name} on ${d === a ? 'A' : 'B'}`)
    for (const name of m.keys()) assert.ok(name.startsWith('monoidb_'), name)
    assert.equal(total(m, 'monoidb_peers'), 1)
    assert.ok(total(m, 'monoidb_messages_total', { direction: 'in', type: 'digest' }) > 0)
    assert.ok(total(m, 'monoidb_messages_total', { direction: 'out' }) > 0)
    assert.ok(total(m, 'monoidb_message_bytes_total', { direction: 'in' }) > 0)
  }
  const after = await scrape(b)
  assert.equal(total(after, 'monoidb_keys'), KEYS)
  assert.ok(total(after, 'monoidb_stats_total', { group: 'sync', name: 'deltasReceived' }) >= total(before, 'monoidb_stats_total', { group: 'sync', name: 'deltasReceived' }) + 1, 'B received deltas')
  assert.ok(total(after, 'monoidb_message_bytes_total', { direction: 'in' }) > total(before, 'monoidb_message_bytes_total', { direction: 'in' }), 'B received bytes')
  assert.ok(total(await scrape(a), 'monoidb_stats_total', { group: 'store', name: 'updates' }) >= KEYS)
  // Counted from B's journal: every key changed B once, by push or (if a session came first) by repair.
  assert.ok(total(after, 'monoidb_deltas_total', { result: 'merged' }) >= KEYS, `merged deltas on B: ${total(after, 'monoidb_deltas_total', { result: 'merged' })}`)
  const latency = after.get('monoidb_write_to_merge_seconds')?.histograms ?? []
  assert.ok(latency.reduce((n, h) => n + h.count, 0) > 0, `pushes carried their write time, so latency was observed: ${JSON.stringify(latency)}`)
})

test('at debug, one write can be followed through both daemons\' logs by its id', { timeout: 30_000 }, async () => {
  const auth = { authorization: '' }
  for (const d of [a, b]) {
    auth.authorization = `Bearer ${d.info.token}`
    assert.equal((await fetch(`${d.info.api}/v1/log-level`, { method: 'POST', headers: auth, body: JSON.stringify({ level: 'debug' }) })).status, 200)
  }
  try {
    const { write } = await a.client.update('followed', 'pn-counter', 'inc', [7]) as { write: string }
    assert.match(write, /^[^/]+\/1$/)
    await until('B to log the write', () => logLines(b).some(l => JSON.stringify(l).includes(write)), 15_000)
    const onA = logLines(a).filter(l => JSON.stringify(l).includes(write))
    const onB = logLines(b).filter(l => JSON.stringify(l).includes(write))
    assert.equal(onA[0].event, 'written')
    assert.equal(onA[0].key, 'followed')
    assert.equal(onB[0].event, 'merged')
    assert.equal(onB[0].key, 'followed')
    assert.equal(onB[0].path, 'push')
  } finally {
    for (const d of [a, b]) await fetch(`${d.info.api}/v1/log-level`, { method: 'POST', headers: { authorization: `Bearer ${d.info.token}` }, body: JSON.stringify({ level: 'info' }) })
  }
})

test('/metrics on the API port needs the token; --metrics serves it without one, GET /metrics only', { timeout: 20_000 }, async () => {
  assert.equal((await fetch(`${a.info.api}/metrics`)).status, 401)
  assert.equal((await fetch(`${a.info.api}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status, 401)
  assert.match(metricsUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
  assert.notEqual(metricsUrl, a.info.api)
  const open = await fetch(`${metricsUrl}/metrics`)
  assert.equal(open.status, 200)
  const m = parseMetrics(await open.text())
  assert.equal(total(m, 'monoidb_peers'), 1)
  const post = await fetch(`${metricsUrl}/metrics`, { method: 'POST' })
  assert.equal(post.status, 405)
  const other = await fetch(`${metricsUrl}/v1/status`)
  assert.equal(other.status, 404)
  assert.equal(((await other.json()) as { error: { code: string } }).error.code, 'unknown_route')
})

test('the log is JSON on stdout; its level changes at runtime by POST /v1/log-level and monoidb log-level; the token is never logged', { timeout: 30_000 }, async () => {
  const lines = logLines(a)
  const ready = lines.find(l => String(l.msg).includes('monoidb daemon ready'))!
  assert.equal(ready.level, 30, 'info')
  assert.equal(ready.peerId, a.info.peerId)
  assert.ok(lines.some(l => l.event === 'start'), 'start is logged')

  const auth = { authorization: `Bearer ${a.info.token}`, 'content-type': 'application/json' }
  const get = async (): Promise<string> => ((await (await fetch(`${a.info.api}/v1/log-level`, { headers: auth })).json()) as { level: string }).level
  assert.equal(await get(), 'info')
  const set = await fetch(`${a.info.api}/v1/log-level`, { method: 'POST', headers: auth, body: JSON.stringify({ level: 'debug' }) })
  assert.equal(set.status, 200)
  assert.deepEqual(await set.json(), { level: 'debug', was: 'info' })
  assert.equal(await get(), 'debug')

  for (const body of [{ level: 'loud' }, { level: 3 }, { lvl: 'info' }, []]) {
    const res = await fetch(`${a.info.api}/v1/log-level`, { method: 'POST', headers: auth, body: JSON.stringify(body) })
    assert.equal(res.status, 400, JSON.stringify(body))
    const { error } = await res.json() as { error: { code: string, message: string } }
    assert.equal(error.code, typeof body === 'object' && !Array.isArray(body) && 'level' in body ? 'bad_level' : 'bad_request', JSON.stringify(body))
    assert.equal(await get(), 'debug', 'a refused level changes nothing')
  }
  assert.equal((await fetch(`${a.info.api}/v1/log-level`, { method: 'POST', body: '{"level":"info"}' })).status, 401)

  const viaCli = await cli('log-level', 'warn', '--data', a.dir)
  assert.deepEqual(viaCli, { code: 0, stdout: '{"level":"warn","was":"debug"}\n', stderr: '' })
  assert.equal(await get(), 'warn')
  const bad = await cli('log-level', 'loud', '--data', a.dir)
  assert.equal(bad.code, 2)
  assert.match(bad.stderr, /LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "loud"/)
  assert.equal(await get(), 'warn')
  await cli('log-level', 'info', '--data', a.dir)
  const help = await cli('help', 'log-level')
  assert.equal(help.code, 0)
  assert.match(help.stdout, /^usage: monoidb log-level LEVEL/)
  const misplaced = await cli('get', 'k', '--watch', '--data', a.dir)
  assert.equal(misplaced.code, 2)
  assert.match(misplaced.stderr, /--watch is for status/)

  const code = await a.stop()
  assert.equal(code, 0)
  const all = logLines(a)
  assert.ok(all.some(l => l.event === 'stop') && all.some(l => l.event === 'stopped'), 'stop is logged')
  for (const d of [a, b]) assert.ok(!d.output().includes(d.info.token), 'the token is in the output')
})

test('the ready line is written whatever the log level; nothing else is at silent', { timeout: 30_000 }, async () => {
  const quiet = await fx.start({ args: ['--log-level', 'silent'] }) // the fixture waits for the ready line
  const lines = logLines(quiet)
  assert.equal(lines.length, 1, quiet.output())
  assert.match(String(lines[0].msg), /^monoidb daemon ready: peer /)
  assert.equal(await quiet.stop(), 0)
  assert.equal(logLines(quiet).length, 1, 'stop is not logged at silent')
})
