// GET /v1/journal over a real node and HTTP API: the JSON answer, its filters, every bad parameter
// refused by name, and follow=1 as an event stream (held records, then new ones; Last-Event-ID resumes).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { JournalRecord } from '../../core/sync/journal.ts'
import { connect } from '../../node/client.ts'
import { type HttpApi, startHttpApi } from '../../node/http-api.ts'
import { JOURNAL_DEFAULT_LIMIT, journalRequest } from '../../node/http-journal.ts'
import type { MonoidbNode } from '../../node/node.ts'
import { nodeFixtures, until } from '../helpers/node-fixtures.ts'

const TOKEN = 'journal-test-token'
const fx = await nodeFixtures('http-journal')
let node: MonoidbNode
let peer: MonoidbNode
let api: HttpApi
before(async () => {
  node = await fx.start({})
  peer = await fx.start({ bootstrap: node.multiaddrs() })
  api = await startHttpApi(node, { host: '127.0.0.1', port: 0, token: TOKEN })
})
after(async () => {
  await api?.close()
  await fx.cleanup()
})

async function get (path: string, headers: Record<string, string> = {}): Promise<{ status: number, body: any }> {
  const res = await fetch(api.url + path, { headers: { authorization: `Bearer ${TOKEN}`, ...headers } })
  return { status: res.status, body: await res.json() }
}

test('the journal answers {first,last,records}; key, peer, after and limit filter it', async () => {
  const a = await node.update('j/a', 'g-counter', 'inc', [1])
  const b = await node.update('j/b', 'g-counter', 'inc', [1])
  const a2 = await node.update('j/a', 'g-counter', 'inc', [1])
  const all = await get('/v1/journal')
  assert.equal(all.status, 200)
  assert.deepEqual(Object.keys(all.body), ['first', 'last', 'records'])
  assert.equal(all.body.first, 1)
  assert.equal(all.body.last, node.journal.last)
  const written = (rs: JournalRecord[]): unknown[] => rs.filter(r => r.kind === 'written').map(r => [r.key, r.kind === 'written' ? r.writes : []])
  assert.deepEqual(written(all.body.records), [['j/a', [a.write]], ['j/b', [b.write]], ['j/a', [a2.write]]])
  const onlyA = await get('/v1/journal?key=j%2Fa')
  assert.deepEqual(written(onlyA.body.records), [['j/a', [a.write]], ['j/a', [a2.write]]])
  assert.ok(onlyA.body.records.every((r: JournalRecord) => r.key === 'j/a' && r.peer === node.peerId && typeof r.at === 'number'))
  const last = onlyA.body.records.at(-1).n as number
  assert.deepEqual((await get(`/v1/journal?key=j%2Fa&after=${last - 1}`)).body.records.map((r: JournalRecord) => r.n), [last])
  assert.deepEqual((await get('/v1/journal?key=j%2Fa&limit=1')).body.records.map((r: JournalRecord) => r.n), [last])
  assert.deepEqual((await get('/v1/journal?peer=nobody')).body.records, [])
  const client = connect(api.url, TOKEN)
  assert.deepEqual((await client.journal({ key: 'j/b' })).records.map(r => r.key), ['j/b'])
})

test('every bad parameter is refused with 400 naming it', async () => {
  const cases: Array<[string, string, RegExp]> = [
    ['after=x', 'bad_request', /after must be a whole number/],
    ['after=-1', 'bad_request', /after/],
    ['limit=0', 'bad_request', /limit must be a whole number from 1/],
    ['limit=10001', 'bad_request', /limit must be a whole number from 1 to 10000/],
    ['follow=yes', 'bad_request', /follow must be 1/],
    ['peer=', 'bad_request', /peer must be a peer id/],
    ['key=', 'bad_key', /key/],
    ['colour=red', 'bad_request', /unknown query parameter.*"colour"/]
  ]
  for (const [query, code, message] of cases) {
    const r = await get(`/v1/journal?${query}`)
    assert.equal(r.status, 400, query)
    assert.equal(r.body.error.code, code, query)
    assert.match(r.body.error.message, message, query)
  }
  const post = await fetch(api.url + '/v1/journal', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })
  assert.equal(post.status, 405)
  const noToken = await fetch(api.url + '/v1/journal')
  assert.equal(noToken.status, 401)
})

/** Reads a text/event-stream's events as {id, data}. */
function events (res: Response): () => Promise<{ id: string, data: JournalRecord }> {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  return async () => {
    for (;;) {
      const end = buffer.indexOf('\n\n')
      if (end >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        if (block.startsWith(':')) continue
        const id = /^id: (.*)$/m.exec(block)?.[1] ?? ''
        const data = /^data: (.*)$/m.exec(block)?.[1] ?? ''
        return { id, data: JSON.parse(data) as JournalRecord }
      }
      const { value, done } = await reader.read()
      if (done) throw new Error('the stream ended')
      buffer += decoder.decode(value, { stream: true })
    }
  }
}

test('follow=1 streams the held records, then each new one with id: <n>; Last-Event-ID resumes after it; a peer\'s write arrives with its id', async () => {
  await node.update('f', 'g-counter', 'inc', [1])
  const abort = new AbortController()
  const res = await fetch(api.url + '/v1/journal?key=f&follow=1', { headers: { authorization: `Bearer ${TOKEN}` }, signal: abort.signal })
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/)
  const next = events(res)
  const held = await next()
  assert.equal(held.data.kind, 'written')
  assert.equal(held.id, String(held.data.n))
  await until('the peer to hear our topics', () => peer.peers().some(p => p.peerId === node.peerId && p.subscribed), 10_000)
  const w = await peer.update('f', 'g-counter', 'inc', [5])
  // The push carries the write's id; on a loaded machine a session may bring the change first (a repair,
  // naming no writes), and the push then arrives redundant: either way the push's record names the write.
  let e = await next()
  while (!(e.data.kind === 'merged' && e.data.path === 'push')) e = await next()
  assert.equal(e.data.peer, peer.peerId)
  assert.deepEqual(e.data.kind === 'merged' && e.data.writes, [w.write])
  assert.ok(e.data.kind === 'merged' && typeof e.data.writtenAt === 'number', 'the write\'s wall time travels with it')
  assert.ok(node.journal.query({ key: 'f', peer: peer.peerId }).some(r => r.kind === 'merged' && r.changed), 'one of them changed the state')
  assert.ok(Number(e.id) > Number(held.id))
  assert.equal(api.openStreams, 1, 'a follow counts as an event stream')
  abort.abort()
  await until('the stream to close', () => api.openStreams === 0)

  const abort2 = new AbortController()
  const again = await fetch(api.url + '/v1/journal?key=f&follow=1', { headers: { authorization: `Bearer ${TOKEN}`, 'last-event-id': held.id }, signal: abort2.signal })
  const resumed = await events(again)()
  assert.ok(Number(resumed.id) > Number(held.id), 'resumed after the last event seen')
  abort2.abort()
  await until('the second stream to close', () => api.openStreams === 0)
})

test('a reconnect resumes after the larger of Last-Event-ID and after= (an EventSource repeats its URL); a bad Last-Event-ID is refused by name', () => {
  assert.equal(journalRequest(new Map([['follow', '1'], ['after', '5']]), '120').after, 120)
  assert.equal(journalRequest(new Map([['follow', '1'], ['after', '200']]), '120').after, 200)
  assert.equal(journalRequest(new Map([['follow', '1']]), '7').after, 7)
  assert.equal(journalRequest(new Map([['after', '9']])).after, 9)
  assert.throws(() => journalRequest(new Map([['after', '5']]), 'x1'), /Last-Event-ID must be a whole number/)
})

test(`without limit a read answers the newest ${JOURNAL_DEFAULT_LIMIT} records; limit reaches the rest`, async () => {
  for (let i = 0; i < JOURNAL_DEFAULT_LIMIT + 5; i++) node.journal.record({ kind: 'want-sent', key: 'many', peer: '*' }, Date.now())
  const r = await get('/v1/journal?key=many')
  assert.equal(r.body.records.length, JOURNAL_DEFAULT_LIMIT)
  assert.equal(r.body.records.at(-1).n, node.journal.last)
  assert.equal((await get(`/v1/journal?key=many&limit=${JOURNAL_DEFAULT_LIMIT + 5}`)).body.records.length, JOURNAL_DEFAULT_LIMIT + 5)
})
