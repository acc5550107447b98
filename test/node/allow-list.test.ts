// The allow list's connection gater (node/allow-list.ts): with a list, every hook refuses a peer not on it and
// lets a listed one through, dialing included; without one, only the peer book's forgotten peers are not dialed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { connectionGater, parseAllowList } from '../../node/allow-list.ts'

const [listed, stranger, forgotten] = await Promise.all([0, 1, 2].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
const maConn = {} as never

test('with a list, a peer not on it is refused on every hook; a listed one is not, unless forgotten', async () => {
  const gater = connectionGater(parseAllowList([listed.toString()]), peer => peer === forgotten.toString())
  for (const [peer, refused] of [[listed, false], [stranger, true]] as const) {
    assert.equal(await gater.denyDialPeer!(peer), refused, `dial ${String(peer)}`)
    assert.equal(await gater.denyInboundEncryptedConnection!(peer, maConn), refused, 'inbound')
    assert.equal(await gater.denyOutboundEncryptedConnection!(peer, maConn), refused, 'outbound')
  }
  const both = connectionGater(parseAllowList([listed.toString(), forgotten.toString()]), peer => peer === forgotten.toString())
  assert.equal(await both.denyDialPeer!(forgotten), true, 'a forgotten peer is not dialed, listed or not')
  assert.equal(await both.denyInboundEncryptedConnection!(forgotten, maConn), false, 'but may dial us')
})

test('without a list, any peer may connect; forgotten peers are still not dialed', async () => {
  const gater = connectionGater(undefined, peer => peer === forgotten.toString())
  assert.equal(await gater.denyDialPeer!(stranger), false)
  assert.equal(await gater.denyDialPeer!(forgotten), true)
  assert.equal(await gater.denyInboundEncryptedConnection!(stranger, maConn), false)
  assert.equal(await gater.denyOutboundEncryptedConnection!(stranger, maConn), false)
})

test('parseAllowList keeps each peer once, in its canonical form, and names a bad id', () => {
  assert.deepEqual([...parseAllowList([listed.toString(), listed.toString()])], [listed.toString()])
  assert.throws(() => parseAllowList(['x']), /^PeerAddressError: --allow-peer: "x" is not a libp2p peer id|--allow-peer: "x" is not a libp2p peer id/)
  assert.throws(() => parseAllowList([listed.toString(), 'QmNope'], 'options.allowPeers'), /options\.allowPeers: "QmNope" is not a libp2p peer id/)
})
