// The API's peer routes over an in-process node on 127.0.0.1: GET, POST (connect) and DELETE (forget) /v1/peers,
// with every refusal naming what was wrong and changing nothing.
import { test, after, before } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { type HttpApi, startHttpApi } from '../../node/http-api.ts'
import type { MonoidbNode } from '../../node/node.ts'
import { nodeFixtures, until } from '../helpers/node-fixtures.ts'

const TOKEN = 'test-token-peers-0123456789'
const fx = await nodeFixtures('http-peers')
let node: MonoidbNode
let other: MonoidbNode
let api: HttpApi
before(async () => {
  node = await fx.start({})
  other = await fx.start({})
  api = await startHttpApi(node, { host: '127.0.0.1', port: 0, token: TOKEN })
})
after(async () => {
  await api?.close()
  await fx.cleanup()
})

interface Reply { status: number, headers: Headers, body: any }
async function call (method: string, path: string, json?: unknown): Promise<Reply> {
  const res = await fetch(api.url + path, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: json === undefined ? undefined : JSON.stringify(json) })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) }
}

function assertError (r: Reply, status: number, code: string, message: RegExp, what: string): void {
  assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`)
  assert.equal(r.body.error.code, code, what)
  assert.match(r.body.error.message, message, what)
}

test('POST /v1/peers refuses what is not a peer address, naming the fault, and changes nothing', async () => {
  const self = node.multiaddrs()[0]
  assertError(await call('POST', '/v1/peers', []), 400, 'bad_request', /JSON object \{"multiaddr"\}/, 'an array')
  assertError(await call('POST', '/v1/peers', { multiaddr: self, peer: 1 }), 400, 'bad_request', /unknown field\(s\) "peer"/, 'an extra field')
  assertError(await call('POST', '/v1/peers', {}), 400, 'bad_multiaddr', /needs "multiaddr"/, 'no multiaddr')
  assertError(await call('POST', '/v1/peers', { multiaddr: 7 }), 400, 'bad_multiaddr', /needs "multiaddr": a string/, 'a number')
  assertError(await call('POST', '/v1/peers', { multiaddr: 'localhost:7421' }), 400, 'bad_multiaddr', /"localhost:7421" is not a multiaddr/, 'not a multiaddr')
  assertError(await call('POST', '/v1/peers', { multiaddr: '/ip4/127.0.0.1/tcp/7421' }), 400, 'bad_multiaddr', /must end with \/p2p\/<peer id>/, 'no peer id')
  assertError(await call('POST', '/v1/peers', { multiaddr: self }), 400, 'bad_multiaddr', /this daemon's own peer id/, 'our own address')
  const bad = await call('POST', '/v1/peers', { multiaddr: '/ip4/127.0.0.1/tcp/7421/p2p/QmNotAPeer' })
  assert.equal(bad.status, 400, JSON.stringify(bad.body))
  assert.equal(bad.body.error.code, 'bad_multiaddr')
  assert.deepEqual((await call('GET', '/v1/peers')).body, { peers: [] }, 'nothing was added')
})

test('POST /v1/peers connects and answers the peer; DELETE /v1/peers/{id} forgets it; errors for bad and unknown ids', { timeout: 30_000 }, async () => {
  const added = await call('POST', '/v1/peers', { multiaddr: other.multiaddrs()[0] })
  assert.equal(added.status, 200, JSON.stringify(added.body))
  assert.equal(added.body.peerId, other.peerId)
  assert.equal(added.body.connected, true)
  assert.ok(added.body.multiaddrs.includes(other.multiaddrs()[0]), JSON.stringify(added.body.multiaddrs))
  const listed = await call('GET', '/v1/peers')
  assert.deepEqual(listed.body.peers.map((p: { peerId: string }) => p.peerId), [other.peerId])

  assertError(await call('DELETE', '/v1/peers/not-a-peer'), 400, 'bad_peer_id', /"not-a-peer" is not a libp2p peer id/, 'malformed')
  assertError(await call('DELETE', '/v1/peers/%E0%A4%A'), 400, 'bad_peer_id', /not valid percent-encoded/, 'bad percent-encoding')
  const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  assertError(await call('DELETE', `/v1/peers/${stranger}`), 404, 'not_found', new RegExp(`knows no peer ${stranger}`), 'unknown')
  assert.equal((await call('GET', '/v1/peers')).body.peers.length, 1, 'refusals forget nothing')

  // The other peer forgets us first, or it would redial us a second after we hang up (and be known again).
  assert.equal(await other.forget(node.peerId), true)
  const gone = await call('DELETE', `/v1/peers/${other.peerId}`)
  assert.equal(gone.status, 200, JSON.stringify(gone.body))
  assert.deepEqual(gone.body, { peerId: other.peerId, forgotten: true })
  assert.ok(!(await call('GET', '/v1/peers')).body.peers.some((p: { peerId: string }) => p.peerId === other.peerId), 'no longer listed')
  await until('the connection to close', () => !node.peers().some(p => p.peerId === other.peerId))
  assertError(await call('DELETE', `/v1/peers/${other.peerId}`), 404, 'not_found', /knows no peer/, 'forgotten already')

  const r = await call('PUT', '/v1/peers')
  assertError(r, 405, 'method_not_allowed', /use GET or POST/, 'PUT')
  assert.equal(r.headers.get('allow'), 'GET, POST')
})
