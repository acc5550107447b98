// node/daemon-log.ts: journal records as log lines, at the levels README "Logs" promises, into a real pino
// logger writing JSON to a stream; and a field named token is hidden.
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { Journal } from '../../core/sync/journal.ts'
import { REFUSALS_LOGGED_IN_ALL, REFUSALS_LOGGED_PER_PEER, REFUSAL_LOG_WINDOW_MS, createDaemonLogger, logJournal } from '../../node/daemon-log.ts'
import { until } from '../helpers/node-fixtures.ts'

function capture (level: 'info' | 'debug'): { log: ReturnType<typeof createDaemonLogger>, lines: () => Array<Record<string, unknown>> } {
  let text = ''
  const destination = new Writable({ write (chunk, _enc, done) { text += String(chunk); done() } })
  const log = createDaemonLogger({ level, pretty: false, destination })
  return { log, lines: () => text.split('\n').filter(l => l !== '').map(l => JSON.parse(l) as Record<string, unknown>) }
}

function recordAll (journal: Journal): void {
  journal.record({ kind: 'written', key: 'cart', peer: 'me', path: 'local', writes: ['r0/7'], bytes: 12 }, 1)
  journal.record({ kind: 'merged', key: 'cart', peer: 'P', path: 'repair', writes: ['r1/3', 'r1/4'], changed: true, bytes: 40 }, 2)
  journal.record({ kind: 'merged', key: 'cart', peer: 'Q', path: 'push', writes: ['r1/3'], changed: false, bytes: 20 }, 3)
  journal.record({ kind: 'refused', key: 'cart', peer: 'P', path: 'push', reason: 'invalid', message: 'not an or-set state' }, 4)
  journal.record({ kind: 'session', key: '', peer: 'P', keysReceived: 9, keysChanged: 3, keysSent: 1, bytesIn: 900, bytesOut: 80, ok: true }, 5)
  journal.record({ kind: 'session', key: '', peer: 'Q', keysReceived: 0, keysChanged: 0, keysSent: 0, bytesIn: 10, bytesOut: 10, ok: true }, 6)
}

test('at info: refusals and sessions that repaired something, not each delta', () => {
  const { log, lines } = capture('info')
  const journal = new Journal()
  const stop = logJournal(journal, log)
  recordAll(journal)
  stop()
  journal.record({ kind: 'refused', key: 'x', peer: 'P', path: 'push', reason: 'oversize', message: 'big' }, 7)
  const got = lines()
  assert.deepEqual(got.map(l => l.event), ['refused', 'session'], 'after stop() nothing more is logged')
  assert.equal(got[0].level, 30)
  assert.equal(got[0].reason, 'invalid')
  assert.match(String(got[0].msg), /refused a delta of "cart" from P \(invalid\): not an or-set state/)
  assert.equal(got[1].keysChanged, 3)
  assert.equal(got[1].bytesIn, 900)
  assert.match(String(got[1].msg), /session with P repaired 3 keys \(900 bytes in, 80 out\)/)
})

test('at debug: each delta merged or written with its key and write ids, so grep for a write id finds it', () => {
  const { log, lines } = capture('debug')
  const journal = new Journal()
  logJournal(journal, log)
  recordAll(journal)
  const got = lines()
  assert.deepEqual(got.map(l => l.event), ['written', 'merged', 'merged', 'refused', 'session', 'session'])
  const withWrite = got.filter(l => JSON.stringify(l).includes('r1/3'))
  assert.equal(withWrite.length, 2, 'the repair that brought r1/3 and the redundant push of it')
  assert.equal(withWrite[0].level, 20)
  assert.deepEqual(withWrite[0].writes, ['r1/3', 'r1/4'])
  assert.match(String(withWrite[0].msg), /^merged delta of "cart" from P by repair: r1\/3 r1\/4$/)
  assert.match(String(withWrite[1].msg), /^redundant delta of "cart" from Q by push: r1\/3$/)
  assert.match(String(got[0].msg), /^wrote "cart": r0\/7$/)
})

test('a peer that makes us refuse its data fast gets 20 log lines a minute, then one line with the count; other peers are not silenced', () => {
  const { log, lines } = capture('info')
  const journal = new Journal()
  let now = 1_000
  logJournal(journal, log, () => now)
  const refuse = (peer: string): void => { journal.record({ kind: 'refused', key: 'k', peer, path: 'push', reason: 'invalid', message: 'garbage' }, now) }
  for (let i = 0; i < 500; i++) refuse('flooder')
  refuse('honest')
  assert.equal(lines().filter(l => l.peer === 'flooder').length, REFUSALS_LOGGED_PER_PEER, '500 refusals, 20 lines')
  assert.equal(lines().filter(l => l.peer === 'honest').length, 1, 'another peer still logged')
  now += REFUSAL_LOG_WINDOW_MS
  refuse('flooder')
  const tail = lines().filter(l => l.peer === 'flooder').slice(-2)
  assert.equal(tail[0].event, 'refused-suppressed')
  assert.equal(tail[0].count, 500 - REFUSALS_LOGGED_PER_PEER)
  assert.match(String(tail[0].msg), /480 more refusals of data from flooder were not logged/)
  assert.equal(tail[1].event, 'refused', 'a new window logs again')
})

test('peers with fresh ids cannot get past the limit: all peers together get 200 lines a minute', () => {
  const { log, lines } = capture('info')
  const journal = new Journal()
  let now = 1_000
  logJournal(journal, log, () => now)
  for (let i = 0; i < 1_000; i++) journal.record({ kind: 'refused', key: 'k', peer: `sybil-${i}`, path: 'push', reason: 'invalid', message: 'garbage' }, now)
  assert.equal(lines().length, REFUSALS_LOGGED_IN_ALL)
  now += REFUSAL_LOG_WINDOW_MS
  journal.record({ kind: 'refused', key: 'k', peer: 'sybil-0', path: 'push', reason: 'invalid', message: 'garbage' }, now)
  const summary = lines().find(l => l.event === 'refused-suppressed' && l.peer === '*')
  assert.equal(summary?.count, 1_000 - REFUSALS_LOGGED_IN_ALL)
})

test('the level changes at runtime, and a field named token is hidden', () => {
  const { log, lines } = capture('info')
  log.debug({}, 'hidden at info')
  log.level = 'debug'
  log.debug({ token: 'secret-token', nested: { token: 'secret-token' } }, 'shown at debug')
  const got = lines()
  assert.equal(got.length, 1)
  assert.equal(got[0].msg, 'shown at debug')
  assert.ok(!JSON.stringify(got).includes('secret-token'))
})

test('readable lines for a terminal: level name and message, not JSON', async () => {
  let text = ''
  const destination = new Writable({ write (chunk, _enc, done) { text += String(chunk); done() } })
  const log = createDaemonLogger({ level: 'info', pretty: true, destination })
  log.info({ event: 'ready' }, 'monoidb daemon ready: peer P')
  await until('the readable line', () => text.includes('peer P'))
  const line = text.replace(/\x1b\[[0-9;]*m/g, '') // without colours
  assert.match(line, /INFO.*monoidb daemon ready: peer P/)
  assert.throws(() => JSON.parse(line.trim()))
})
