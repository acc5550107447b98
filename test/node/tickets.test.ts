// Tickets (node/tickets.ts): random, reusable until they expire, bounded in number; sessions evict their oldest.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Tickets, TicketsFull } from '../../node/tickets.ts'

test('a ticket is 256 random bits, valid and reusable until its time is up, then never again', () => {
  let now = 1_000
  const t = new Tickets({ ttlMs: 60_000, now: () => now })
  const a = t.issue()
  const b = t.issue()
  assert.equal(a.expiresInMs, 60_000)
  assert.match(a.ticket, /^[A-Za-z0-9_-]{43}$/, '32 bytes, base64url')
  assert.notEqual(a.ticket, b.ticket)
  assert.equal(t.valid(a.ticket), true)
  now += 59_999
  assert.equal(t.valid(a.ticket), true, 'reusable within its time (EventSource reconnects)')
  assert.equal(t.valid(a.ticket), true)
  now += 1
  assert.equal(t.valid(a.ticket), false, 'expired at 60 s')
  assert.equal(t.valid(b.ticket), false)
  assert.equal(t.size, 0, 'expired tickets are forgotten')
})

test('anything that is not a live ticket is refused: garbage, near misses, revoked', () => {
  const t = new Tickets()
  const { ticket } = t.issue()
  for (const bad of [undefined, null, 42, '', 'x', ticket.slice(1), ticket + 'A', ticket.toUpperCase(), 'a'.repeat(10_000), { ticket }]) {
    assert.equal(t.valid(bad), false, JSON.stringify(bad)?.slice(0, 40))
  }
  t.revoke(ticket)
  assert.equal(t.valid(ticket), false, 'revoked')
})

test('tickets are bounded: at the cap a new one is refused until the oldest expires, and live ones keep working', () => {
  let now = 0
  const t = new Tickets({ ttlMs: 1_000, max: 3, now: () => now })
  const first = t.issue()
  now = 500
  t.issue(); t.issue()
  assert.throws(() => t.issue(), (err: unknown) => err instanceof TicketsFull && err.retryInMs === 500 && /3 tickets/.test(err.message))
  assert.equal(t.valid(first.ticket), true, 'refusing a new ticket did not cost an old one')
  now = 1_000
  assert.doesNotThrow(() => t.issue(), 'the oldest expired: room again')
  assert.equal(t.size, 3)
})

test('sessions (evictOldest) drop the oldest at the cap instead of refusing', () => {
  const t = new Tickets({ max: 2, evictOldest: true })
  const a = t.issue(); const b = t.issue(); const c = t.issue()
  assert.deepEqual([t.valid(a.ticket), t.valid(b.ticket), t.valid(c.ticket)], [false, true, true])
})

test('bad settings are refused naming them', () => {
  assert.throws(() => new Tickets({ ttlMs: 0 }), /ttlMs/)
  assert.throws(() => new Tickets({ max: 1.5 }), /max tickets/)
})

test('loggableUrl hides every ticket parameter and keeps the rest', async () => {
  const { loggableUrl } = await import('../../node/http-auth.ts')
  assert.equal(loggableUrl('/?ticket=abc'), '/?ticket=(redacted)')
  assert.equal(loggableUrl('/v1/events?prefix=a&ticket=abc&x=1'), '/v1/events?prefix=a&ticket=(redacted)&x=1')
  assert.equal(loggableUrl('/v1/keys/ticket=abc'), '/v1/keys/ticket=abc', 'a key named like it is not a parameter')
  assert.equal(loggableUrl('/v1/status'), '/v1/status')
})
