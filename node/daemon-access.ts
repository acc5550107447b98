/**
 * The daemon's flags for who may connect and for the API's exposure:
 * --swarm-key, --allow-peer, --api-allow-remote, --api-tls-cert/--api-tls-key
 * and the API's limits. `accessArgs` checks their syntax while the command
 * line is parsed (node/daemon-args.ts); `loadAccess` reads the files they name
 * before anything starts. Each error names the flag (and file) that was wrong,
 * and the daemon exits 2 on it.
 */
import type { HttpApiOptions } from './http-api.ts'
import { ApiTlsError, readApiTls } from './api-tls.ts'
import type { ApiTls } from './api-server.ts'
import { parseAllowList } from './allow-list.ts'
import { isLoopback } from './metrics-server.ts'
import { SwarmKeyError, readSwarmKey } from './swarm-key.ts'

/** parseArgs option specs, spread into the daemon's. */
export const ACCESS_ARG_OPTIONS = {
  'swarm-key': { type: 'string' },
  'allow-peer': { type: 'string', multiple: true },
  'api-allow-remote': { type: 'boolean', default: false },
  'api-tls-cert': { type: 'string' },
  'api-tls-key': { type: 'string' },
  'api-max-connections': { type: 'string' },
  'api-max-event-streams': { type: 'string' },
  'api-headers-timeout': { type: 'string' },
  'api-request-timeout': { type: 'string' },
  'api-keep-alive-timeout': { type: 'string' },
  'api-max-header-bytes': { type: 'string' }
} as const

export const ACCESS_USAGE = `  --swarm-key FILE      a private swarm: connect only with peers holding the same key (monoidb swarm-key FILE
                        makes one); others cannot connect, nor learn this peer's id or topics
  --allow-peer PEERID   connect only with this peer, repeatable: every other peer is refused at connection
                        time, inbound and outbound (peers of the peer book not on the list are not dialed)
  --api-allow-remote    allow an --api HOST other machines can reach (without TLS the token travels in clear)
  --api-tls-cert FILE   serve the API over HTTPS with this certificate (PEM), with --api-tls-key FILE (PEM,
  --api-tls-key FILE    mode 0600); daemon.json then records the certificate's path as "ca" for clients
  --api-max-connections N     API connections held at most (default: a quarter of ulimit -n, 64 to 1024)
  --api-max-event-streams N   event streams open at most (default half of the connections; more get 503)
  --api-headers-timeout MS    TLS handshake and request headers within (default 10000)
  --api-request-timeout MS    a whole request, body included, within (default 30000)
  --api-keep-alive-timeout MS an idle keep-alive connection is closed after (default 5000)
  --api-max-header-bytes N    request line and headers at most (default 16384; more get 431)`

/** What the flags say, checked for syntax: files not yet read. */
export interface AccessArgs {
  swarmKeyFile?: string
  /** Peer ids, checked. */
  allowPeers: string[]
  apiAllowRemote: boolean
  apiTls?: { certFile: string, keyFile: string }
  /** The API limits given (others take startHttpApi's defaults). */
  apiLimits: Pick<HttpApiOptions, 'maxConnections' | 'maxEventStreams' | 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs' | 'maxHeaderBytes'>
}

/** The flags' files read and checked: what createNode and startHttpApi take. */
export interface DaemonAccess {
  swarmKey?: Uint8Array
  apiTls?: ApiTls & { certFile: string }
}

const LIMIT_FLAGS = {
  'api-max-connections': 'maxConnections',
  'api-max-event-streams': 'maxEventStreams',
  'api-headers-timeout': 'headersTimeoutMs',
  'api-request-timeout': 'requestTimeoutMs',
  'api-keep-alive-timeout': 'keepAliveTimeoutMs',
  'api-max-header-bytes': 'maxHeaderBytes'
} as const

type Values = Partial<Record<keyof typeof ACCESS_ARG_OPTIONS, string | boolean | string[]>>

/** Checks the flags against the API host; `usage` makes the error the daemon exits 2 with. */
export function accessArgs (values: Values, apiHost: string, apiText: string, usage: (message: string) => Error): AccessArgs {
  const remote = values['api-allow-remote'] === true
  if (!remote && !isLoopback(apiHost)) throw usage(`--api ${apiText} is reachable from other machines: use a loopback host (127.0.0.1:PORT, [::1]:PORT), or add --api-allow-remote (and --api-tls-cert/--api-tls-key, or the token travels in clear)`)
  const cert = values['api-tls-cert'] as string | undefined
  const key = values['api-tls-key'] as string | undefined
  if ((cert === undefined) !== (key === undefined)) throw usage(cert === undefined ? '--api-tls-key needs --api-tls-cert FILE too' : '--api-tls-cert needs --api-tls-key FILE too')
  for (const [flag, file] of [['--swarm-key', values['swarm-key']], ['--api-tls-cert', cert], ['--api-tls-key', key]] as const) {
    if (file === '') throw usage(`${flag} needs a file path`)
  }
  let allowPeers: string[]
  try {
    allowPeers = [...parseAllowList((values['allow-peer'] as string[] | undefined) ?? [])]
  } catch (err) {
    throw usage((err as Error).message)
  }
  const apiLimits: AccessArgs['apiLimits'] = {}
  for (const [flag, option] of Object.entries(LIMIT_FLAGS) as Array<[keyof typeof LIMIT_FLAGS, typeof LIMIT_FLAGS[keyof typeof LIMIT_FLAGS]]>) {
    const text = values[flag] as string | undefined
    if (text === undefined) continue
    const n = /^\d{1,9}$/.test(text) ? Number(text) : NaN
    if (!(n >= 1)) throw usage(`--${flag} must be a whole number ≥ 1, got ${JSON.stringify(text)}`)
    apiLimits[option] = n
  }
  return {
    ...(values['swarm-key'] === undefined ? {} : { swarmKeyFile: values['swarm-key'] as string }),
    allowPeers,
    apiAllowRemote: remote,
    ...(cert === undefined || key === undefined ? {} : { apiTls: { certFile: cert, keyFile: key } }),
    apiLimits
  }
}

/** Reads the swarm key and the TLS files; an error names the flag and file (the daemon exits 2). */
export async function loadAccess (args: AccessArgs, usage: (message: string) => Error): Promise<DaemonAccess> {
  // Here, not in accessArgs: the API module is loaded only by a daemon, not by every command that parses flags.
  const { httpLimits } = await import('./http-api.ts')
  try {
    httpLimits({ host: '127.0.0.1', port: 0, token: 'x', ...args.apiLimits })
  } catch (err) {
    // The check names startHttpApi's options: say the flags instead.
    let message = (err as Error).message
    for (const [flag, option] of Object.entries(LIMIT_FLAGS)) message = message.replaceAll(option, `--${flag}`)
    throw usage(message)
  }
  try {
    return {
      ...(args.swarmKeyFile === undefined ? {} : { swarmKey: await readSwarmKey(args.swarmKeyFile) }),
      ...(args.apiTls === undefined ? {} : { apiTls: await readApiTls(args.apiTls.certFile, args.apiTls.keyFile) })
    }
  } catch (err) {
    if (err instanceof SwarmKeyError) throw usage(`--swarm-key: ${err.message}`)
    if (err instanceof ApiTlsError) throw usage(err.message)
    throw err
  }
}
