// Session-refusal floods (node/refusal-bans.ts): REFUSALS session refusals within WINDOW_MS ban the peer once;
// refusals for bytes or unacked answers never do; a slow trickle never does.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { REFUSALS, REJECTS, RefusalBans, WINDOW_MS } from '../../node/refusal-bans.ts'

test('REFUSALS session refusals within the window ban the peer, once, and counting starts again', () => {
  const banned: string[] = []
  const r = new RefusalBans(p => banned.push(p))
  for (let i = 0; i < REFUSALS - 1; i++) r.refused('evil', 'sessions', i)
  assert.deepEqual(banned, [])
  r.refused('evil', 'sessions', REFUSALS)
  assert.deepEqual(banned, ['evil'])
  r.refused('evil', 'sessions', REFUSALS + 1)
  assert.deepEqual(banned, ['evil'])
  assert.equal(r.bans, 1)
})

test('refusals for bytes or unacked answers, or spread over windows, never ban', () => {
  const banned: string[] = []
  const r = new RefusalBans(p => banned.push(p))
  for (let i = 0; i < 10 * REFUSALS; i++) { r.refused('catching-up', 'bytes', i); r.refused('catching-up', 'unacked', i) }
  // REFUSALS − 1 per window, window after window.
  for (let w = 0; w < 5; w++) for (let i = 0; i < REFUSALS - 1; i++) r.refused('slow', 'sessions', w * (WINDOW_MS + 1) + i)
  assert.deepEqual(banned, [])
})

test('REJECTS rejected gossip messages delivered within the window ban the deliverer; counted apart from sessions', () => {
  const banned: string[] = []
  const r = new RefusalBans(p => banned.push(p))
  for (let i = 0; i < REJECTS - 1; i++) r.refused('relay', 'rejected', i)
  for (let i = 0; i < REFUSALS - 1; i++) r.refused('relay', 'sessions', i)
  assert.deepEqual(banned, [], 'the two counts add up to nothing together')
  r.refused('relay', 'rejected', REJECTS)
  assert.deepEqual(banned, ['relay'])
})
