/**
 * A typed client of the daemon's HTTP API (node/http-api.ts, README "HTTP API"):
 * `connect(apiUrl, token)`. Every refusal becomes an ApiError carrying the API's
 * error code and message; a daemon that cannot be reached is code `unreachable`.
 * Plain fetch: no networking stack is loaded, so a client starts fast.
 */
import type { ContractRef } from '../core/contract.ts'
import type { JsonValue } from '../core/json.ts'
import type { KeyView } from '../core/replica-store.ts'
import type { Change } from '../core/subscription.ts'
import type { JournalQuery, JournalRecord } from '../core/sync/journal.ts'
import type { NodeStatus, PeerHealthInfo, PeerInfo } from './node.ts'
import type { InspectReport, TraceReport } from './inspect-service.ts'
import { fetchTrusting } from './tls-fetch.ts'

export type { KeyView, Change, NodeStatus, PeerInfo, PeerHealthInfo, InspectReport, TraceReport, JournalQuery, JournalRecord }

/**
 * A key as the API shows it. An owned key (README "Owned keys") adds its `owner` and current `writers`
 * (public keys `ed25519:…`); its `contract` is the contract the app named, not the wrapper.
 */
export interface KeyAnswer extends KeyView { owner?: string, writers?: string[] }

/** An update's answer: the new view and the write's id `REPLICA/SEQ` (null when the op changed nothing). */
export interface UpdateView extends KeyAnswer { write: string | null }

/** An owned key's writers after a grant or revoke. */
export interface WritersView { key: string, owner: string, writers: string[] }

/** The first event of a watch: the current value, `contract` and `value` null if the daemon does not hold the key yet. */
export type WatchEvent = Change | { key: string, contract: KeyView['contract'] | null, value: JsonValue | null, origin?: undefined }

export class ApiError extends Error {
  /** The API's error code (`not_found`, `unauthorized`, `unauthorized_write`, `bad_args`, …), or `unreachable`, `bad_response`, `stream_closed`. */
  readonly code: string
  /** The HTTP status; 0 when there was no HTTP answer. */
  readonly status: number
  constructor (code: string, message: string, status = 0) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.status = status
  }
}

export interface MonoidbClient {
  readonly url: string
  /** The key's view; a key the daemon does not hold is waited for up to `wait` ms (API default 2000), then ApiError not_found. */
  get: (key: string, options?: { wait?: number }) => Promise<KeyAnswer>
  /**
   * Applies `op(...args)` under `contract`; resolves once durably committed on the daemon. `writers`
   * (public keys, the first the owner) creates the key as an owned key. ApiError unauthorized_write (403)
   * when the key is owned and the daemon's signing key is not one of its writers.
   */
  update: (key: string, contract: ContractRef, op: string, args?: JsonValue[], options?: { writers?: string[] }) => Promise<UpdateView>
  /** Grants or revokes writers of an owned key (the daemon's signing key must be its owner's): its writers after. */
  writers: (key: string, change: { grant: string[] } | { revoke: string[], freeze?: 'all' | 'none' }) => Promise<WritersView>
  /** The current value, then one event per committed change, until the signal aborts or the loop is left. */
  watch: (key: string, options?: { signal?: AbortSignal }) => AsyncIterable<WatchEvent>
  keys: (prefix?: string) => Promise<string[]>
  status: () => Promise<NodeStatus>
  /** Every peer the daemon knows, connected or not, with its health. */
  peers: () => Promise<PeerHealthInfo[]>
  /** Adds a peer (multiaddr ending in /p2p/<peer id>) and dials it: the peer once the dial ended (connected, or its lastDialError). */
  connect: (multiaddr: string) => Promise<PeerHealthInfo>
  /** Forgets a peer: hung up, dropped from the daemon's peer store, no longer redialed. ApiError not_found if unknown. */
  forget: (peerId: string) => Promise<void>
  /** A ticket (POST /v1/tickets): authorises event streams and the dashboard for `expiresInMs`. */
  ticket: () => Promise<{ ticket: string, expiresInMs: number }>
  /** Every reachable peer's copy of the key compared with the daemon's, waiting `timeout` ms for answers (README "Inspect and trace"). */
  inspect: (key: string, options?: { timeout?: number }) => Promise<InspectReport>
  /** Which peers hold the write `write` (REPLICA/SEQ) of the key, and how it reached them. */
  trace: (key: string, write: string, options?: { timeout?: number }) => Promise<TraceReport>
  /** Sets the daemon's log level; resolves to {"level","was"} (ApiError bad_level for a level pino lacks). */
  setLogLevel: (level: string) => Promise<{ level: string, was: string }>
  /** The sync journal's matching records (GET /v1/journal), with the numbers of the oldest and newest it holds. */
  journal: (query?: JournalQuery) => Promise<{ first: number, last: number, records: JournalRecord[] }>
  /** The matching records held, then each new one as it is made (GET /v1/journal?follow=1). */
  followJournal: (query?: JournalQuery, options?: { signal?: AbortSignal }) => AsyncIterable<JournalRecord>
}

function journalPath (q: JournalQuery, follow: boolean): string {
  const params = new URLSearchParams()
  if (q.key !== undefined) params.set('key', q.key)
  if (q.peer !== undefined) params.set('peer', q.peer)
  if (q.after !== undefined) params.set('after', String(q.after))
  if (q.limit !== undefined) params.set('limit', String(q.limit))
  if (follow) params.set('follow', '1')
  const text = params.toString()
  return '/v1/journal' + (text === '' ? '' : `?${text}`)
}

export interface ConnectOptions {
  /** For an https:// daemon whose certificate no public authority signed: the certificate (PEM) to trust, e.g. its --api-tls-cert file's text. */
  ca?: string | Buffer
}

export function connect (apiUrl: string, token: string, options: ConnectOptions = {}): MonoidbClient {
  const base = apiUrl.replace(/\/+$/, '')
  const fetch = options.ca === undefined ? globalThis.fetch : fetchTrusting(options.ca)
  const headers = { authorization: `Bearer ${token}` }
  const keyPath = (key: string): string => `/v1/keys/${encodeURIComponent(key)}`

  async function send (path: string, init: RequestInit = {}): Promise<Response> {
    let res: Response
    try {
      res = await fetch(base + path, { ...init, headers: { ...headers, ...init.headers } })
    } catch (err) {
      if (init.signal?.aborted === true) throw err
      const cause = (err as { cause?: { code?: string, message?: string } }).cause
      throw new ApiError('unreachable', `cannot reach the daemon at ${base}: ${cause?.code ?? cause?.message ?? (err as Error).message}`)
    }
    if (!res.ok) throw await errorOf(res)
    return res
  }

  async function json<T> (path: string, init?: RequestInit): Promise<T> {
    const res = await send(path, init)
    try {
      return await res.json() as T
    } catch (err) {
      throw new ApiError('bad_response', `${base}${path} did not answer JSON: ${(err as Error).message}`, res.status)
    }
  }

  return {
    url: base,
    async get (key, options = {}) {
      return await json<KeyView>(keyPath(key) + (options.wait === undefined ? '' : `?wait=${options.wait}`))
    },
    async update (key, contract, op, args = [], options = {}) {
      return await json<UpdateView>(keyPath(key), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ contract, op, args, ...(options.writers === undefined ? {} : { writers: options.writers }) })
      })
    },
    async writers (key, change) {
      return await json<WritersView>(keyPath(key) + '/writers', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(change) })
    },
    watch (key, options = {}) {
      return watchEvents(send, keyPath(key) + '/events', options.signal)
    },
    async keys (prefix) {
      return (await json<{ keys: string[] }>('/v1/keys' + (prefix === undefined ? '' : `?prefix=${encodeURIComponent(prefix)}`))).keys
    },
    async status () {
      return await json<NodeStatus>('/v1/status')
    },
    async peers () {
      return (await json<{ peers: PeerHealthInfo[] }>('/v1/peers')).peers
    },
    async connect (multiaddr) {
      return await json<PeerHealthInfo>('/v1/peers', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ multiaddr }) })
    },
    async forget (peerId) {
      await json<unknown>(`/v1/peers/${encodeURIComponent(peerId)}`, { method: 'DELETE' })
    },
    async ticket () {
      return await json<{ ticket: string, expiresInMs: number }>('/v1/tickets', { method: 'POST' })
    },
    async inspect (key, options = {}) {
      return await json<InspectReport>(keyPath(key) + '/inspect' + (options.timeout === undefined ? '' : `?timeout=${options.timeout}`))
    },
    async trace (key, write, options = {}) {
      return await json<TraceReport>(keyPath(key) + `/trace?write=${encodeURIComponent(write)}` + (options.timeout === undefined ? '' : `&timeout=${options.timeout}`))
    },
    async setLogLevel (level) {
      return await json<{ level: string, was: string }>('/v1/log-level', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ level }) })

    },
    async journal (query = {}) {
      return await json(journalPath(query, false))
    },
    followJournal (query = {}, options = {}) {
      return watchEvents<JournalRecord>(send, journalPath(query, true), options.signal)
    }
  }
}

/** Parses the text/event-stream: one `data:` line of JSON per event; comments (keep-alives) skipped. */
async function * watchEvents<T = WatchEvent> (send: (path: string, init?: RequestInit) => Promise<Response>, path: string, signal?: AbortSignal): AsyncGenerator<T> {
  const stop = new AbortController()
  const onAbort = (): void => { stop.abort() }
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    const res = await send(path, { signal: stop.signal, headers: { accept: 'text/event-stream' } })
    if (res.body === null) throw new ApiError('bad_response', `${path} sent no event stream`, res.status)
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk, { stream: true })
        let end: number
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const data = block.split('\n').filter(l => l.startsWith('data:')).map(l => l.slice(5).trimStart()).join('\n')
          if (data !== '') yield JSON.parse(data) as T
        }
      }
    } catch (err) {
      if (stop.signal.aborted) return
      throw new ApiError('stream_closed', `the event stream broke: ${(err as Error).message}`)
    }
    if (!stop.signal.aborted) throw new ApiError('stream_closed', 'the daemon closed the event stream (is it stopping?)')
  } catch (err) {
    if (stop.signal.aborted && !(err instanceof ApiError)) return // aborted by the caller: the watch just ends
    throw err
  } finally {
    signal?.removeEventListener('abort', onAbort)
    stop.abort() // leaving the loop closes the connection, which ends the daemon's subscription
  }
}

/** The API's {"error":{"code","message"}} as an ApiError. */
async function errorOf (res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '')
  try {
    const { error } = JSON.parse(text) as { error?: { code?: unknown, message?: unknown } }
    if (typeof error?.code === 'string' && typeof error.message === 'string') return new ApiError(error.code, error.message, res.status)
  } catch {}
  return new ApiError('bad_response', `HTTP ${res.status}: ${text.slice(0, 200)}`, res.status)
}
