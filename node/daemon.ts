/**
 * `monoidb daemon`: a peer (createNode: the store on LevelDB, sync, libp2p)
 * that runs until SIGTERM/SIGINT. It holds DIR/daemon.pid while it runs, and
 * once ready writes DIR/daemon.json (peer id, multiaddrs, API URL, API token;
 * mode 0600) for clients on this machine. The HTTP API (node/http-api.ts)
 * listens on --api; daemon.json holds the URL it actually bound.
 *
 * It keeps the keys written, read or watched through it; --replicate-all
 * makes it keep every key it hears of (an always-on peer).
 */
import { randomBytes } from 'node:crypto'
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createRegistry } from '../contracts/index.ts'
import { loadContractModules } from './contract-modules.ts'
import { DAEMON_USAGE, type DaemonOptions, UsageError, parseDaemonArgs } from './daemon-args.ts'
import { createDaemonLogger, logJournal } from './daemon-log.ts'
import { loadAccess } from './daemon-access.ts'
import { errorLog } from './error-log.ts'
import { type HttpApi, startHttpApi } from './http-api.ts'
import { createMetrics, type NodeMetrics } from './metrics.ts'
import { type MetricsServer, startMetricsServer } from './metrics-server.ts'
import { createNode, type MonoidbNode } from './node.ts'
import { type PidLock, takePidLock } from './pid-lock.ts'
import { readSigningKeyFile } from './signing-key-file.ts'

/** What DIR/daemon.json holds: how a client on this machine finds and authenticates to the daemon. */
export interface DaemonInfo {
  peerId: string
  multiaddrs: string[]
  api: string
  token: string
  /** With --api-tls-cert: that certificate's path, for clients to trust (node/client.ts connect's `ca`). */
  ca?: string
}

function fail (message: string, code = 1): never {
  console.error(`monoidb daemon: ${message}`)
  process.exit(code)
}

function parse (argv: readonly string[]): DaemonOptions {
  try {
    const parsed = parseDaemonArgs(argv)
    if (parsed === 'help') { console.log(DAEMON_USAGE); process.exit(0) }
    return parsed
  } catch (err) {
    if (err instanceof UsageError) fail(`${err.message}\n${DAEMON_USAGE}`, 2)
    throw err
  }
}

/** Written to a temporary name and renamed, so a reader never sees half a file. */
async function writeDaemonInfo (path: string, info: DaemonInfo): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(info, null, 2) + '\n', { mode: 0o600, flag: 'w' })
  await rename(tmp, path)
}

/** Runs the daemon with the arguments after the program name (a leading `daemon` word is accepted); node/cli.ts calls it for `monoidb daemon`. */
export async function runDaemon (argv: readonly string[]): Promise<void> {
  const options = parse(argv)
  // The swarm key and TLS files are read before anything starts: a bad one is bad usage (exit 2).
  const access = await loadAccess(options.access, message => new UsageError(message)).catch((err: Error) => fail(err.message, err instanceof UsageError ? 2 : 1))
  const log = createDaemonLogger({ level: options.logLevel })
  if (options.access.apiAllowRemote && access.apiTls === undefined) log.warn({ event: 'api_remote_plain', api: `${options.api.host}:${options.api.port}` }, 'the API may be reached from other machines without TLS (--api-allow-remote): its token travels in clear, and anyone who sees it can read and write every key; add --api-tls-cert and --api-tls-key')
  const registry = createRegistry()
  // Contracts load before anything touches the data folder: a refused contract leaves no trace.
  const contracts = await loadContractModules(options.contracts, registry, options.laws).catch((err: Error) => fail(err.message))
  // As is the signing key: a file that is no key is a bad --signing-key (exit 2), named, its content never shown.
  const signing = options.signingKey === undefined ? undefined : await readSigningKeyFile(options.signingKey).catch((err: Error) => fail(`--signing-key: ${err.message}`, 2))
  if (signing?.warning !== undefined) console.error(`monoidb daemon: warning: ${signing.warning}`)

  await mkdir(options.dataDir, { recursive: true, mode: 0o700 })
  const lock: PidLock = await takePidLock(options.dataDir).catch((err: Error) => fail(err.message))
  const infoPath = join(options.dataDir, 'daemon.json')
  log.info({ event: 'start', dataDir: options.dataDir }, `monoidb daemon starting in ${options.dataDir}`)

  let node: MonoidbNode | undefined
  let api: HttpApi | undefined
  let metrics: NodeMetrics | undefined
  let metricsServer: MetricsServer | undefined
  let unlog: (() => void) | undefined
  let stopping = false
  const keepAlive = setInterval(() => {}, 1 << 30) // until a signal arrives, whatever networking does
  const stop = async (code: number): Promise<void> => {
    clearInterval(keepAlive)
    log.info({ event: 'stop' }, 'monoidb daemon stopping')
    try {
      await api?.close() // first: no request may start on a node that is stopping
      await metricsServer?.close()
      await node?.stop() // sends pending pushes, closes connections and LevelDB
      metrics?.close()
      unlog?.()
    } catch (err) {
      console.error(`monoidb daemon: stopping failed: ${(err as Error).message}`)
      code = 1
    }
    await unlink(infoPath).catch(() => {})
    await lock.release()
    log.info({ event: 'stopped', code }, 'monoidb daemon stopped')
    process.exit(code)
  }
  const onSignal = (): void => {
    if (stopping) return
    stopping = true
    // A signal during start-up waits for the node, then stops it.
    if (node !== undefined) void stop(0)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  try {
    node = await createNode({
      dataDir: options.dataDir,
      listen: options.listen.length > 0 ? options.listen : undefined,
      bootstrap: options.bootstrap,
      mdns: options.mdns,
      replicateAll: options.replicateAll,
      durability: options.durability,
      limits: options.limits,
      sync: options.sync,
      registry,
      contracts,
      ...(signing === undefined ? {} : { signingKey: signing.key }),
      log,
      swarmKey: access.swarmKey,
      allowPeers: options.access.allowPeers.length > 0 ? options.access.allowPeers : undefined,
      onError: errorLog(line => { console.error(line) })
    })
    unlog = logJournal(node.journal, log)
    metrics = createMetrics(node)
  } catch (err) {
    console.error(`monoidb daemon: cannot start the node in ${options.dataDir}: ${(err as Error).message}`)
    await stop(1)
    return
  }
  if (stopping) { await stop(0); return }

  const token = randomBytes(32).toString('hex')
  try {
    const observe = { metrics, logLevel: { get: () => log.level, set: (level: string) => { log.level = level } } }
    api = await startHttpApi(node, { ...options.api, ...options.access.apiLimits, tls: access.apiTls, token, observe })
  } catch (err) {
    console.error(`monoidb daemon: cannot serve the HTTP API on ${options.api.host}:${options.api.port}: ${(err as Error).message}`)
    await stop(1)
    return
  }
  if (stopping) { await stop(0); return }
  if (options.metrics !== undefined) {
    try {
      metricsServer = await startMetricsServer(metrics!, options.metrics.host, options.metrics.port)
    } catch (err) {
      console.error(`monoidb daemon: cannot serve metrics on ${options.metrics.host}:${options.metrics.port}: ${(err as Error).message}`)
      await stop(1)
      return
    }
  }

  const info: DaemonInfo = { peerId: node.peerId, multiaddrs: node.multiaddrs(), api: api.url, token, ...(access.apiTls === undefined ? {} : { ca: access.apiTls.certFile }) }
  await writeDaemonInfo(infoPath, info)
  const { keys, unknownContractKeys } = await node.status()
  const lacking = Object.entries(unknownContractKeys.byId).map(([name, n]) => `${name} (${n})`)
  if (lacking.length > 0) {
    const more = unknownContractKeys.others > 0 ? ` and ${unknownContractKeys.others} of other contracts` : ''
    console.error(`monoidb daemon: keys held here are bound to contracts this daemon does not have: ${lacking.join(', ')}${more}; they are kept as they are, but cannot be read or written until the daemon starts with those contracts (--contract, of the same version)`)
  }
  const replaced = node.replacedReplica
  if (replaced !== undefined) {
    const why = replaced.reason === 'repaired'
      ? 'was repaired, so its newest writes may be lost'
      : replaced.reason === 'upgraded'
        ? 'was upgraded from store format 1 or 2, which recorded no clean stop, so it may have lost its newest writes'
        : 'was not stopped cleanly (a kill, crash or power loss), so its newest writes may be lost'
    console.error(`monoidb daemon: the store ${why}: it writes as replica ${node.replica} from now on (was ${replaced.replica}) and never reuses a dot of the old one`)
  }
  // Scripts and tests wait for this message on stdout: it is written whatever the log level.
  const readyLog = log.isLevelEnabled('info') ? log : log.child({}, { level: 'info' })
  readyLog.info({ event: 'ready', peerId: info.peerId, replica: node.replica, publicKey: node.publicKey ?? null, multiaddrs: info.multiaddrs, api: info.api, metrics: metricsServer?.url, keys, durability: options.durability, dataDir: options.dataDir },
    `monoidb daemon ready: peer ${info.peerId} replica ${node.replica}${node.publicKey === undefined ? '' : ` signing as ${node.publicKey}`} listening on ${info.multiaddrs.join(' ')}, API ${info.api}${metricsServer === undefined ? '' : `, metrics ${metricsServer.url}/metrics`} (${keys} keys; durability ${options.durability}; token in ${infoPath})`)
}

// Run directly (`npm start`, `node node/daemon.ts`); imported by the CLI, it waits for runDaemon.
if (import.meta.main) await runDaemon(process.argv.slice(2))
