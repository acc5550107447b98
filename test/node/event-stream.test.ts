// Event ids and resuming, over the HTTP API of an in-process node (real LevelDB, real sockets):
// GET /v1/keys/{key}/events and GET /v1/events with Last-Event-ID.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { type HttpApi, startHttpApi } from '../../node/http-api.ts'
import type { MonoidbNode } from '../../node/node.ts'
import { nodeFixtures, until } from '../helpers/node-fixtures.ts'
import { openSse } from '../helpers/sse.ts'

const TOKEN = 'test-token-event-stream'
const auth = { authorization: `Bearer ${TOKEN}` }
const fx = await nodeFixtures('event-stream')
let node: MonoidbNode
let api: HttpApi
before(async () => {
  node = await fx.start({})
  api = await startHttpApi(node, { host: '127.0.0.1', port: 0, token: TOKEN })
})
after(async () => {
  await api?.close()
  await fx.cleanup()
})

const idPattern = (): RegExp => new RegExp(`^${node.changes.epoch}:\\d+$`)
const inc = async (key: string, by = 1): Promise<void> => { await node.update(key, 'pn-counter', 'inc', [by]) }

test('every event of a key stream has an id <storeEpoch>:<n>; resuming sends the current value only if the key changed', async () => {
  await inc('k1')
  const first = await openSse(`${api.url}/v1/keys/k1/events`, auth)
  assert.equal(first.status, 200)
  await first.until('the current value', b => b.length === 1)
  assert.match(first.blocks[0].id!, idPattern())
  assert.deepEqual(first.blocks[0].data, { key: 'k1', contract: { id: 'pn-counter' }, value: 1 })
  await inc('k1'); await inc('other')
  await first.until('the change', b => b.some(x => x.data?.value === 2))
  const seen = first.lastId()!
  assert.match(seen, idPattern())
  assert.ok(Number(seen.split(':')[1]) > Number(first.blocks[0].id!.split(':')[1]), 'ids grow')
  first.close()

  // Nothing changed since: an id-only block, no value.
  const same = await openSse(`${api.url}/v1/keys/k1/events`, { ...auth, 'last-event-id': seen })
  await same.until('the resume point', b => b.length === 1)
  assert.equal(same.blocks[0].data, undefined, 'no event: the client is up to date')
  assert.match(same.blocks[0].id!, idPattern())
  same.close()

  // Three changes while away, another key's too: one event, the current value, resumed.
  await inc('k1'); await inc('k1'); await inc('other'); await inc('k1', 10)
  const back = await openSse(`${api.url}/v1/keys/k1/events`, { ...auth, 'last-event-id': seen })
  await back.until('the resumed value', b => b.length >= 1)
  assert.deepEqual(back.blocks[0].data, { key: 'k1', contract: { id: 'pn-counter' }, value: 14, resumed: true })
  await inc('k1')
  await back.until('a live change after resuming', b => b.some(x => x.data?.value === 15))
  assert.equal(back.blocks.length, 2, 'the intermediate values were folded into one event')
  back.close()
})

test('an id of another run, or one this run never sent, gets the current value with "resumed":false', async () => {
  await inc('k2', 3)
  for (const id of ['0123456789abcdef:5', `${node.changes.epoch}:${node.changes.last + 1000}`]) {
    const s = await openSse(`${api.url}/v1/keys/k2/events`, { ...auth, 'last-event-id': id })
    await s.until('the current value', b => b.length >= 1)
    assert.deepEqual(s.blocks[0].data, { key: 'k2', contract: { id: 'pn-counter' }, value: 3, resumed: false }, id)
    s.close()
  }
})

test('a malformed Last-Event-ID is a 400 naming it, on both streams, and subscribes nothing', async () => {
  for (const path of ['/v1/keys/k1/events', '/v1/events']) {
    const res = await fetch(api.url + path, { headers: { ...auth, 'last-event-id': 'yesterday:7' } })
    assert.equal(res.status, 400, path)
    const body = await res.json() as { error: { code: string, message: string } }
    assert.equal(body.error.code, 'bad_request')
    assert.match(body.error.message, /Last-Event-ID "yesterday:7"/)
  }
  assert.equal(api.openStreams, 0)
})

test('GET /v1/events: live changes of every key; resuming sends the current values of exactly the keys changed since', async () => {
  for (const k of ['s/a', 's/b', 's/c', 'elsewhere']) await inc(k)
  const live = await openSse(`${api.url}/v1/events?prefix=s%2F`, auth)
  assert.equal(live.status, 200)
  await live.until('the resume point', b => b.length === 1)
  assert.equal(live.blocks[0].data, undefined, 'a fresh stream starts with its id only')
  const start = live.lastId()!
  assert.match(start, idPattern())
  await inc('s/a', 5); await inc('elsewhere')
  await live.until('s/a', b => b.some(x => x.data?.key === 's/a'))
  const afterA = live.lastId()!
  assert.deepEqual(live.blocks.at(-1)!.data, { key: 's/a', contract: { id: 'pn-counter' }, value: 6 })
  live.close()

  // Away: s/b twice, s/c once, s/a not at all, a key outside the prefix.
  await inc('s/b'); await inc('s/c', 7); await inc('s/b', 100); await inc('elsewhere')
  const back = await openSse(`${api.url}/v1/events?prefix=s%2F`, { ...auth, 'last-event-id': afterA })
  await back.until('the two changed keys', b => b.filter(x => x.data !== undefined).length >= 2)
  await new Promise(resolve => setTimeout(resolve, 200)) // nothing more may come
  const resumed = back.blocks.filter(x => x.data !== undefined).map(x => x.data)
  assert.deepEqual(resumed, [
    { key: 's/c', contract: { id: 'pn-counter' }, value: 8, resumed: true },
    { key: 's/b', contract: { id: 'pn-counter' }, value: 102, resumed: true }
  ], 'exactly the changed keys, current values, in the order they last changed')
  await inc('s/a')
  await back.until('a live change', b => b.some(x => x.data?.key === 's/a'))
  assert.equal(back.blocks.at(-1)!.data.resumed, undefined, 'live events are not marked')
  back.close()

  // Resuming from the very start of the first stream also reports s/a.
  const fromStart = await openSse(`${api.url}/v1/events?prefix=s%2F`, { ...auth, 'last-event-id': start })
  await fromStart.until('three keys', b => b.filter(x => x.data !== undefined).length >= 3)
  assert.deepEqual(fromStart.blocks.filter(x => x.data !== undefined).map(x => x.data.key).sort(), ['s/a', 's/b', 's/c'])
  fromStart.close()
})

test('GET /v1/events from another run: every key\'s current value ("resumed":false) under the id sent, then an id of this run', async () => {
  const stale = 'abcdef0123456789:42'
  const s = await openSse(`${api.url}/v1/events?prefix=s%2F`, { ...auth, 'last-event-id': stale })
  await s.until('the full catch-up and the new id', b => b.some(x => x.data === undefined))
  const values = s.blocks.filter(x => x.data !== undefined)
  assert.deepEqual(values.map(x => x.data.key), ['s/a', 's/b', 's/c'], 'every key under the prefix, none other')
  assert.ok(values.every(x => x.id === stale && x.data.resumed === false), 'a cut during the catch-up starts it again')
  assert.match(s.lastId()!, idPattern())
  s.close()
})

test('whatever event a client saw last, resuming from its id never leaves it behind (writes committed together included)', async () => {
  await inc('burst')
  const s = await openSse(`${api.url}/v1/keys/burst/events`, auth)
  await s.until('the current value', b => b.length === 1)
  // Concurrent writes to one key share commits (group commit): several events, one counted change.
  await Promise.all(Array.from({ length: 40 }, async () => { await inc('burst') }))
  const final = (await node.get('burst'))!.value
  await s.until('the final value', b => b.some(x => x.data?.value === final))
  s.close()
  assert.ok(s.blocks.every(b => b.id !== undefined && idPattern().test(b.id)), 'every event has an id')
  // A client cut off right after event i holds event i's id and value: resuming must bring it to the final value.
  for (const [i, b] of s.blocks.entries()) {
    const r = await openSse(`${api.url}/v1/keys/burst/events`, { ...auth, 'last-event-id': b.id! })
    await r.until('the resume answer', x => x.length >= 1)
    const got = r.blocks[0].data?.value ?? b.data.value
    r.close()
    assert.equal(got, final, `cut after event ${i} (value ${b.data.value}, id ${b.id})`)
  }
})

test('GET /v1/events counts against maxEventStreams like a key stream', async () => {
  const small = await startHttpApi(node, { host: '127.0.0.1', port: 0, token: TOKEN, maxConnections: 4, maxEventStreams: 1 })
  try {
    const one = await openSse(`${small.url}/v1/events`, auth)
    assert.equal(one.status, 200)
    await one.until('the stream to start', b => b.length === 1)
    const two = await fetch(`${small.url}/v1/events`, { headers: auth })
    assert.equal(two.status, 503)
    assert.equal(two.headers.get('retry-after'), '5')
    await two.body?.cancel()
    one.close()
    await until('the stream to be closed', () => small.openStreams === 0)
  } finally {
    await small.close()
  }
})
