// node/cli-status.ts: how far a session has got, the bar, the lines drawn, and the redraw on a terminal.
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import type { MonoidbClient, NodeStatus } from '../../node/client.ts'
import { bar, renderStatus, sessionFraction, watchStatus } from '../../node/cli-status.ts'
import type { SessionProgress } from '../../core/sync/session-progress.ts'

const session = (over: Partial<SessionProgress>): SessionProgress => ({ peer: '12D3KooWAbCdEfGhIjKlMnOp', role: 'responder', pull: false, startedAt: 1_000, keysDiffering: 0, keysReceived: 0, keysSent: 0, keysPending: 0, bytesIn: 0, bytesOut: 0, requestsIn: 0, requestsDue: 0, ...over })

test('a session\'s fraction: keys exchanged of those known to differ; a pull is held back by the requests still due', () => {
  assert.equal(sessionFraction(session({ keysDiffering: 10_000, keysReceived: 2_500 })), 0.25)
  assert.equal(sessionFraction(session({ keysDiffering: 100, keysSent: 100 })), 1)
  assert.equal(sessionFraction(session({})), 0, 'nothing known yet')
  // A pull knows only what arrived: 300 keys of 300 "known", but 3 of 4 announced requests are still due.
  assert.equal(sessionFraction(session({ pull: true, keysDiffering: 300, keysReceived: 300, requestsIn: 1, requestsDue: 3 })), 0.25)
  assert.equal(bar(0.5, 10), '[#####.....]')
  assert.equal(bar(2, 4), '[####]')
  assert.equal(bar(-1, 4), '[....]')
})

test('the lines drawn: the peer, then one bar per running session', () => {
  const status = { peerId: 'ME', peers: 1, keys: 2_500, sessions: [session({ pull: true, keysDiffering: 10_000, keysReceived: 2_500, bytesIn: 3 * 1024 * 1024, bytesOut: 2_048 })] } as unknown as NodeStatus
  assert.deepEqual(renderStatus(status, 3_500), [
    'peer ME  1 peer connected  2500 keys',
    'catch-up from 12D3KooW…KlMnOp [########......................]  25%  2500 received, 0 sent of 10000 keys known to differ  3.0 MiB in, 2.0 KiB out  2.5 s'
  ])
  assert.deepEqual(renderStatus({ ...status, sessions: [] }), ['peer ME  1 peer connected  2500 keys', 'no session running'])
})

test('--watch on a terminal redraws in place (cursor up over the last drawing, clear) until aborted', async () => {
  let text = ''
  const out = Object.assign(new Writable({ write (c, _e, done) { text += String(c); done() } }), { isTTY: true })
  const stop = new AbortController()
  let polls = 0
  const client = {
    async status () {
      polls++
      if (polls === 3) stop.abort()
      return { peerId: 'ME', peers: 0, keys: polls, sessions: [] }
    }
  } as unknown as MonoidbClient
  await watchStatus(client, { out, intervalMs: 5, signal: stop.signal })
  assert.equal(polls, 3)
  const frames = text.split('\x1b[J')
  assert.equal(frames.length, 4)
  assert.equal(frames[0], '', 'the first drawing moves nothing up')
  assert.ok(frames[1].endsWith('\x1b[2A') && frames[2].endsWith('\x1b[2A'), 'each redraw goes up the two lines drawn')
  assert.equal(frames[3], 'peer ME  0 peers connected  3 keys\nno session running\n')
})
