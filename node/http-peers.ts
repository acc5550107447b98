/**
 * The API's peer routes (README "Peers"):
 *
 *   GET    /v1/peers             → {"peers":[peer…]}: every peer this daemon knows (node/peer-health.ts)
 *   POST   /v1/peers             {"multiaddr"} → the peer, once dialed (connected, or lastDialError); 400 bad_multiaddr
 *   DELETE /v1/peers/{peerId}    → {"peerId","forgotten":true}; 404 not_found, 400 bad_peer_id
 */
import type { ServerResponse } from 'node:http'
import { HttpError, sendJson } from './http-errors.ts'
import type { MonoidbNode } from './node.ts'
import { PeerAddressError } from './peer-address.ts'

/** `id`: the path segment after /v1/peers, if any; `body` reads the request's JSON. */
export async function peersRoute (node: MonoidbNode, method: string, id: string | undefined, body: () => Promise<unknown>, res: ServerResponse): Promise<void> {
  if (id === undefined) {
    allow(method, 'GET', 'POST')
    if (method === 'GET') { sendJson(res, 200, { peers: await node.knownPeers() }); return }
    sendJson(res, 200, await connectPeer(node, await body()))
    return
  }
  allow(method, 'DELETE')
  let text: string
  try {
    text = decodeURIComponent(id)
  } catch {
    throw new HttpError(400, 'bad_peer_id', `peer id ${JSON.stringify(id.slice(0, 100))} is not valid percent-encoded UTF-8`)
  }
  let forgotten: boolean
  try {
    forgotten = await node.forget(text)
  } catch (err) {
    if (err instanceof PeerAddressError) throw new HttpError(400, 'bad_peer_id', err.message)
    throw err
  }
  if (!forgotten) throw new HttpError(404, 'not_found', `this daemon knows no peer ${text} (GET /v1/peers lists those it knows)`)
  sendJson(res, 200, { peerId: text, forgotten: true })
}

async function connectPeer (node: MonoidbNode, body: unknown): Promise<unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'bad_request', 'the body must be a JSON object {"multiaddr"}')
  const extra = Object.keys(body).filter(f => f !== 'multiaddr')
  if (extra.length > 0) throw new HttpError(400, 'bad_request', `unknown field(s) ${extra.map(f => JSON.stringify(f)).join(', ')}; the body is {"multiaddr"}`)
  const { multiaddr } = body as { multiaddr?: unknown }
  if (typeof multiaddr !== 'string') throw new HttpError(400, 'bad_multiaddr', 'the body needs "multiaddr": a string such as /ip4/127.0.0.1/tcp/7421/p2p/<peer id>')
  try {
    return await node.connect(multiaddr)
  } catch (err) {
    if (err instanceof PeerAddressError) throw new HttpError(400, 'bad_multiaddr', err.message)
    throw err
  }
}

function allow (method: string, ...methods: string[]): void {
  if (!methods.includes(method)) throw new HttpError(405, 'method_not_allowed', `${method} is not allowed here; use ${methods.join(' or ')}`, { allow: methods.join(', ') })
}
