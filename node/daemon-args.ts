/**
 * The `monoidb daemon` command line: parsed with node:util parseArgs into the
 * daemon's options, or a UsageError the daemon turns into exit 2 + usage text.
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_LAW_SEED, parsePath } from '../core/laws.ts'
import type { LawCheckOptions } from './contract-modules.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { DURABILITIES, type Durability } from '../core/level-storage.ts'
import { DEFAULT_LOG_LEVEL, LOG_LEVELS, type LogLevel, isLogLevel } from './log-levels.ts'
import { isLoopback } from './metrics-server.ts'
import { ACCESS_ARG_OPTIONS, ACCESS_USAGE, type AccessArgs, accessArgs } from './daemon-access.ts'
import { LIMIT_FLAG_OPTIONS, LIMIT_USAGE, parseLimitFlags } from './limit-flags.ts'
import type { PeerLimitOptions } from './peer-limit-options.ts'
import type { SyncConfig } from '../core/sync/types.ts'

export const DAEMON_USAGE = `usage: monoidb daemon [--data DIR] [--listen MULTIADDR]... [--bootstrap MULTIADDR]...
                      [--api HOST:PORT] [--contract MODULE]... [--replicate-all] [--mdns]
                      [--durability power|process] [--log-level LEVEL] [--metrics HOST:PORT [--metrics-remote]]
                      [--swarm-key FILE] [--allow-peer PEERID]... [--api-allow-remote]
                      [--api-tls-cert FILE --api-tls-key FILE] [--api-max-connections N] ...
                      [--signing-key FILE]
                      [--max-peers N] [--peer-streams N] [--peer-bytes-per-sec N] … (limits, below)

  --data DIR            data folder (default ./.monoidb): the store is DIR/store, the peer key DIR/peer-key,
                        the peers it knows DIR/peers (redialed at the next start)
  --listen MULTIADDR    address to take peers on, repeatable (default /ip4/127.0.0.1/tcp/0: this machine,
                        the last run's port if free, else any; e.g. /ip4/0.0.0.0/tcp/7421 for peers on
                        other machines)
  --bootstrap MULTIADDR peer to connect to and stay connected to (ends in /p2p/<peer id>), repeatable;
                        while unreachable it is redialed with backoff (1 s doubling to 30 s), each failure logged
  --api HOST:PORT       where the HTTP API listens (default 127.0.0.1:7420; port 0 picks a free one;
                        DIR/daemon.json holds the URL it bound and the bearer token every request needs)
  --contract MODULE     a .ts/.js module whose exported contracts are law-checked and registered, repeatable
                        (with the module's lawInputs export, if any: argument generators and models by contract id)
  --law-seed S          seed of that law check (default ${DEFAULT_LAW_SEED}: the same verdict at every start)
  --law-runs N          runs per law (default 200)
  --law-path P          replay one failure: the path its message prints (with its --law-seed)
  --replicate-all       keep every key heard of (default: only keys written, read or watched here)
  --mdns                find peers on the local network by multicast DNS
  --durability power|process
                        what an acknowledged write survives (default power: a power loss, each commit
                        fsyncs; process: a crash of this process only, a power loss can lose the newest)
  --log-level LEVEL     fatal, error, warn, info (default), debug, trace or silent: JSON log lines on stdout
                        (readable on a terminal); change it while running with monoidb log-level LEVEL
  --metrics HOST:PORT   also serve GET /metrics (Prometheus) there, without the API token; HOST must be
                        loopback (127.0.0.1, ::1, localhost) unless --metrics-remote is given
  --metrics-remote      allow a --metrics HOST other machines can reach (anyone there reads the metrics)
${ACCESS_USAGE}
  --signing-key FILE    sign every write made through this daemon's API and CLI with the Ed25519 key in FILE
                        (PKCS#8 PEM, as monoidb keygen writes it; a file that is not one: exit 2); needed to
                        write owned keys (README "Owned keys"); a FILE others may read is used with a warning
  --help                show this text

Peer-side resource limits (README "Security"), each a whole number ≥ 1:
${LIMIT_USAGE}

When ready it writes DIR/daemon.json ({peerId, multiaddrs, api, token}, mode 0600) and prints where it
listens. SIGTERM or SIGINT: pending pushes are sent, the store is closed, and it exits 0.
A store that cannot be opened as it was (damaged folder) is refused with exit 1: see monoidb help repair.
After a stop that was not clean (kill -9, power loss) or a repair, it takes a new replica id.`

export interface DaemonOptions {
  dataDir: string
  listen: string[]
  bootstrap: string[]
  /** The API address as given: host and port (0 = any free port). */
  api: { host: string, port: number }
  contracts: string[]
  /** The law check of --contract modules: seed, runs per law, replay path. */
  laws: LawCheckOptions
  replicateAll: boolean
  mdns: boolean
  durability: Durability
  /** pino level of the daemon's log (node/daemon-log.ts). */
  logLevel: LogLevel
  /** Where --metrics serves /metrics without a token, if given. */
  metrics?: { host: string, port: number }
  /** --swarm-key, --allow-peer, --api-allow-remote, --api-tls-*, the API's limits (node/daemon-access.ts). */
  access: AccessArgs
  /** --signing-key: the file of the key that signs writes made through this daemon (read by node/signing-key-file.ts). */
  signingKey?: string
  /** Peer-side limits given by flags (node/limit-flags.ts): the node's `limits` and sync settings. */
  limits?: PeerLimitOptions
  sync?: Partial<SyncConfig>
}

export class UsageError extends Error {}

/** Parses the arguments after the program name; an optional leading `daemon` word is accepted. Returns 'help' for --help. */
export function parseDaemonArgs (argv: readonly string[]): DaemonOptions | 'help' {
  const args = argv[0] === 'daemon' ? argv.slice(1) : [...argv]
  let values
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        data: { type: 'string', default: './.monoidb' },
        listen: { type: 'string', multiple: true },
        bootstrap: { type: 'string', multiple: true },
        api: { type: 'string', default: '127.0.0.1:7420' },
        contract: { type: 'string', multiple: true },
        'law-seed': { type: 'string' },
        'law-runs': { type: 'string' },
        'law-path': { type: 'string' },
        'replicate-all': { type: 'boolean', default: false },
        mdns: { type: 'boolean', default: false },
        durability: { type: 'string', default: 'power' },
        'log-level': { type: 'string', default: DEFAULT_LOG_LEVEL },
        metrics: { type: 'string' },
        'metrics-remote': { type: 'boolean', default: false },
        ...ACCESS_ARG_OPTIONS,
        'signing-key': { type: 'string' },
        ...LIMIT_FLAG_OPTIONS,
        help: { type: 'boolean', default: false }
      }
    }))
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  if (values.help) return 'help'
  if (values.data.length === 0) throw new UsageError('--data needs a folder path')
  const listen = values.listen ?? []
  const bootstrap = values.bootstrap ?? []
  for (const [flag, addrs] of [['--listen', listen], ['--bootstrap', bootstrap]] as const) {
    for (const a of addrs) checkMultiaddr(flag, a)
  }
  for (const b of bootstrap) {
    if (!b.includes('/p2p/')) throw new UsageError(`--bootstrap ${b} must end in /p2p/<peer id>`)
  }
  const durability = values.durability as Durability
  if (!DURABILITIES.includes(durability)) throw new UsageError(`--durability must be power or process, got ${JSON.stringify(values.durability)}`)
  const logLevel = values['log-level']
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`)
  const metrics = values.metrics === undefined ? undefined : parseHostPort(values.metrics, '--metrics')
  if (metrics !== undefined && !values['metrics-remote'] && !isLoopback(metrics.host)) throw new UsageError(`--metrics ${values.metrics} is reachable from other machines and serves without a token: use a loopback host (127.0.0.1:PORT), or add --metrics-remote`)
  if (values['metrics-remote'] && metrics === undefined) throw new UsageError('--metrics-remote goes with --metrics HOST:PORT')
  if (values['signing-key'] === '') throw new UsageError('--signing-key needs a file path (write one with monoidb keygen FILE)')
  const api = parseHostPort(values.api)
  const access = accessArgs(values, api.host, values.api, message => new UsageError(message))
  let given: ReturnType<typeof parseLimitFlags>
  try { given = parseLimitFlags(values) } catch (err) { throw new UsageError((err as Error).message) }
  return {
    access,
    ...(values['signing-key'] === undefined ? {} : { signingKey: resolve(values['signing-key']) }),
    ...(Object.keys(given.limits).length > 0 ? { limits: given.limits } : {}),
    ...(Object.keys(given.sync).length > 0 ? { sync: given.sync } : {}),
    logLevel,
    ...(metrics === undefined ? {} : { metrics }),
    durability,
    dataDir: resolve(values.data),
    listen,
    bootstrap,
    api,
    contracts: (values.contract ?? []).map(c => resolve(c)),
    laws: parseLawFlags(values['law-seed'], values['law-runs'], values['law-path']),
    replicateAll: values['replicate-all'],
    mdns: values.mdns
  }
}

/** --law-seed, --law-runs and --law-path, shared with `monoidb check-contract` (as --seed, --runs, --path). */
export function parseLawFlags (seed: string | undefined, runs: string | undefined, path: string | undefined, prefix = '--law-'): LawCheckOptions {
  const out: LawCheckOptions = {}
  if (seed !== undefined) {
    const n = /^-?\d{1,10}$/.test(seed) ? Number(seed) : NaN
    if (!(n >= -(2 ** 31) && n < 2 ** 31)) throw new UsageError(`${prefix}seed ${JSON.stringify(seed)} must be an integer from -2147483648 to 2147483647`)
    out.seed = n
  }
  if (runs !== undefined) {
    const n = /^\d{1,7}$/.test(runs) ? Number(runs) : NaN
    if (!(n >= 1 && n <= 1_000_000)) throw new UsageError(`${prefix}runs ${JSON.stringify(runs)} must be a whole number from 1 to 1000000`)
    out.numRuns = n
  }
  if (path !== undefined) {
    try {
      parsePath(path)
    } catch (err) {
      throw new UsageError(`${prefix}path: ${(err as Error).message}`)
    }
    out.path = path
  }
  return out
}

function checkMultiaddr (flag: string, text: string): void {
  try {
    multiaddr(text)
  } catch (err) {
    throw new UsageError(`${flag} ${JSON.stringify(text)} is not a multiaddr: ${(err as Error).message}`)
  }
}

function parseHostPort (text: string, flag = '--api'): { host: string, port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text)
  const port = m === null ? NaN : Number(m[3])
  if (m === null || port > 65535) throw new UsageError(`${flag} ${JSON.stringify(text)} must be HOST:PORT (port 0-65535; IPv6 as [::1]:PORT)`)
  return { host: m[1] ?? m[2], port }
}
