#!/usr/bin/env node
/**
 * The `monoidb` command: `monoidb daemon …` runs a peer (node/daemon.ts); the
 * other commands are clients of a running daemon's HTTP API (node/client.ts),
 * found through --data DIR (DIR/daemon.json) or --api URL with MONOIDB_TOKEN.
 * Exit codes: 0 success, 1 an error (one stderr line naming it), 2 bad usage.
 */
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { JsonValue } from '../core/json.ts'
import { PEER_ARGS, PEER_HELP, peerArgError } from './cli-peers.ts'
import { parseWriteId } from '../core/write-id.ts'
import { ApiError, connect, type MonoidbClient } from './client.ts'
import { INSPECT_COMMANDS, INSPECT_HELP, runInspect } from './cli-inspect.ts'
import { WATCH_INTERVAL_MS, watchStatus } from './cli-status.ts'
import { LOG_LEVELS, isLogLevel } from './log-levels.ts'
import { WRITERS_HELP, publicKeyList } from './cli-writers.ts'

const WHERE = `Finding the daemon:
  --data DIR   read DIR/daemon.json (its API URL and token), default ./.monoidb
  --api URL    the daemon's API URL, e.g. http://127.0.0.1:7420; the token comes from
               the MONOIDB_TOKEN environment variable, and for an https:// daemon whose
               certificate no public authority signed, MONOIDB_CA names the certificate file
               to trust (daemon.json's "ca" is used with --data)`

export const USAGE = `usage: monoidb COMMAND [ARGS] [--data DIR | --api URL]

Commands:
  get KEY [--wait MS]                      print the key's value as JSON
  update KEY CONTRACT OP [ARG_JSON...]     apply an op; print the new value as JSON (and its write id on stderr)
         [--writers PUBKEY[,PUBKEY...]]    ... creating an owned key only those writers may change (the first: its owner)
  writers KEY --grant|--revoke PUBKEY      change an owned key's writers (owner only); print them as JSON
  keygen FILE                              write a new signing key to FILE; print its public key
  watch KEY                                print the current value, then one JSON line per change
  keys [--prefix P]                        print the keys held, as a JSON array
  status [--watch]                         print the daemon's status as JSON (--watch: live, with session progress bars)
  peers                                    print every known peer and its health, as a JSON array
  connect MULTIADDR                        add a peer and dial it; print it as peers does
  forget PEER                              hang up on a peer and stop redialing it
  dashboard [--open]                       print a link to the daemon's dashboard (valid 60 s)
  inspect KEY [--timeout MS] [--json]      compare every reachable peer's copy of KEY with this one's
  trace KEY WRITE [--timeout MS] [--json]  which peers hold a write, and how it reached them
  log-level LEVEL                          change the daemon's log level while it runs
  journal [KEY] [--peer P] [--follow]      print the sync journal (monoidb help journal)
  check-contract MODULE [--runs N] [--seed S]  law-check a contract module, no daemon needed
  daemon [FLAGS]                           run a peer daemon (monoidb help daemon)
  repair [--data DIR]                      repair a damaged store (monoidb help repair)
  swarm-key FILE                           write a new private-swarm key (monoidb help swarm-key)
  help [COMMAND]                           show this text, or one command's

${WHERE}

Exit status: 0 on success; 1 on an error (one line on stderr: "monoidb: CODE: message");
2 on bad usage (with the usage text).`

const HELP: Record<string, string> = {
  get: `usage: monoidb get KEY [--wait MS] [--data DIR | --api URL]

Prints the key's value as one line of JSON. A key the daemon does not hold is
asked of its peers and waited for up to MS milliseconds (default 2000, at most
30000), and kept from then on; if none has it: exit 1, "monoidb: not_found: …".`,
  update: `usage: monoidb update KEY CONTRACT OP [ARG_JSON...] [--writers PUBKEY[,PUBKEY...]] [--data DIR | --api URL]

Applies OP with the given arguments to KEY under CONTRACT and prints the new
value as one line of JSON once the daemon has durably committed it, and the
write's id on stderr as \`write REPLICA/SEQ\` (nothing when the op changed
nothing). CONTRACT is
a contract id (pn-counter, or-set, lww-register, …) or a JSON ref such as
'{"id":"log","params":{"keepLast":100}}'. Each ARG_JSON is one argument, parsed
as JSON: quote strings for the shell, e.g.
  monoidb update cart or-set add '"apples"'
  monoidb update visits pn-counter inc 5
  monoidb update temp lww-register set -3
Any other ARG_JSON starting with - goes after --, with the options before it.

--writers PUBKEY[,PUBKEY...] (repeatable) creates KEY as an owned key: only
changes signed by those writers' keys are merged, by every peer; the first is its
owner, who may grant and revoke writers (monoidb writers). The daemon must run
with a --signing-key whose public key is among them. Any write to an owned key
through a daemon whose key is not a current writer is refused: exit 1
"unauthorized_write", nothing written or sent. PUBKEY: as monoidb keygen prints it.`,
  writers: WRITERS_HELP,
  watch: `usage: monoidb watch KEY [--data DIR | --api URL]

Prints the key's current value, then one line per committed change, each a JSON
object {"key","contract","value","origin"} (origin: "local" or the peer id the
change came from; "write": a local change's id, "writes": the ids a remote
change brought, where known; the first line has no origin, and contract and value null if
the daemon does not hold the key yet: it asks its peers, and keeps the key from
then on). Runs until interrupted; exit 1 if the daemon goes away.`,
  keys: `usage: monoidb keys [--prefix P] [--data DIR | --api URL]

Prints the keys the daemon holds (those starting with P, if given) as a JSON
array, in UTF-8 byte order.`,
  status: `usage: monoidb status [--data DIR | --api URL]

Prints {"peerId","multiaddrs","peers","keys","replicateAll","unknownContracts","unknownContractKeys"}:
the daemon's peer id and addresses, how many peers are connected, how many keys
it holds, whether it keeps every key it hears of (--replicate-all) or only those
written, read or watched through it, and the deltas it received for contracts
it does not have or has in another version (not merged): {"byId","others"}, the
20 contract names (id, or id::version) with the most, and the count of all others;
and, in the same shape, the keys it holds whose contract it does not have (kept,
unreadable until it starts with that contract). "sessions": each reconciliation
session running (a catch-up among them) with {"peer","role","pull","startedAt",
"keysDiffering","keysReceived","keysSent","keysPending","bytesIn","bytesOut",
"requestsIn","requestsDue"}.

--watch redraws the status every ${WATCH_INTERVAL_MS} ms with a progress bar per running session
(on a terminal; elsewhere it prints a block each time something changed), until interrupted.`,
  'log-level': `usage: monoidb log-level LEVEL [--data DIR | --api URL]

Sets the running daemon's log level (fatal, error, warn, info, debug, trace or
silent) and prints {"level","was"}. At debug the daemon logs every delta with
its key and write ids.`,
  ...PEER_HELP,
  dashboard: `usage: monoidb dashboard [--open] [--data DIR | --api URL]

Prints a link to the daemon's web dashboard, e.g. http://127.0.0.1:7420/?ticket=…
Open it within 60 s: the page trades the ticket in it for a session
cookie and drops it from the address bar. The API token never appears in the link.
--open also opens it in the system's browser (xdg-open, open or start).`,
  ...INSPECT_HELP,
  help: `usage: monoidb help [COMMAND]

Shows the usage of monoidb, or of COMMAND (${['get', 'update', 'watch', 'keys', 'status', 'peers', 'connect', 'forget', 'dashboard', 'writers', 'keygen', 'daemon'].join(', ')}).`
}

/** Arity of each client command: [required positionals, at most (Infinity for update's args)]. */
const ARITY: Record<string, [number, number]> = { get: [1, 1], update: [3, Infinity], watch: [1, 1], keys: [0, 0], status: [0, 0], peers: [0, 0], connect: [1, 1], forget: [1, 1], dashboard: [0, 0], inspect: [1, 1], trace: [2, 2], 'log-level': [1, 1], writers: [1, 1] }

class UsageError extends Error {
  readonly usage: string
  constructor (message: string, usage = USAGE) {
    super(message)
    this.usage = usage
  }
}

/** A failure that is not bad usage: exit 1 with one line. */
class CliError extends Error {}

function commandHelp (command: string): string {
  return command in HELP ? `${HELP[command]}\n\n${WHERE}` : USAGE
}

async function daemonHelp (): Promise<string> {
  return (await import('./daemon-args.ts')).DAEMON_USAGE
}

export async function main (argv: readonly string[]): Promise<number> {
  if (argv[0] === 'check-contract') return await (await import('./check-contract.ts')).runCheckContract(argv.slice(1))
  if (argv[0] === 'help' && argv[1] === 'check-contract' && argv.length === 2) { console.log((await import('./check-contract.ts')).CHECK_CONTRACT_USAGE); return 0 }
  if (argv[0] === 'daemon') {
    await (await import('./daemon.ts')).runDaemon(argv)
    return -1 // the daemon runs until a signal, then exits the process itself
  }
  if (argv[0] === 'swarm-key') return await (await import('./swarm-key.ts')).runSwarmKey(argv.slice(1))
  if (argv[0] === 'help' && argv[1] === 'swarm-key' && argv.length === 2) { console.log((await import('./swarm-key.ts')).SWARM_KEY_USAGE); return 0 }
  if (argv[0] === 'repair') return await (await import('./repair.ts')).runRepair(argv.slice(1))
  if (argv[0] === 'keygen') return await (await import('./cli-keygen.ts')).runKeygen(argv.slice(1))
  if (argv[0] === 'help' && argv[1] === 'keygen' && argv.length === 2) { console.log((await import('./cli-keygen.ts')).KEYGEN_USAGE); return 0 }
  if (argv[0] === 'help' && argv[1] === 'repair' && argv.length === 2) { console.log((await import('./repair.ts')).REPAIR_USAGE); return 0 }
  try {
    if (argv[0] === 'journal') return await (await import('./cli-journal.ts')).runJournal(argv.slice(1), { findDaemon, usage: (m, u) => new UsageError(m, u) })
    if (argv[0] === 'help' && argv[1] === 'journal' && argv.length === 2) { console.log((await import('./cli-journal.ts')).JOURNAL_USAGE); return 0 }
    return await run(argv)
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`monoidb: ${err.message}\n\n${err.usage}`)
      return 2
    }
    if (err instanceof ApiError) console.error(`monoidb: ${err.code}: ${oneLine(err.message)}`)
    else if (err instanceof CliError) console.error(`monoidb: ${oneLine(err.message)}`)
    else console.error(`monoidb: internal: ${oneLine((err as Error).stack ?? String(err))}`)
    return 1
  }
}

async function run (argv: readonly string[]): Promise<number> {
  // A negative number is an ARG_JSON, not an option: hidden from parseArgs behind a
  // placeholder no real argument can hold (argv has no NUL), restored after.
  const negatives: string[] = []
  const args = argv.map(a => /^-[\d.]/.test(a) ? `\0${negatives.push(a) - 1}` : a)
  let parsed
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        data: { type: 'string' },
        api: { type: 'string' },
        prefix: { type: 'string' },
        wait: { type: 'string' },
        open: { type: 'boolean', default: false },
        timeout: { type: 'string' },
        json: { type: 'boolean', default: false },
        watch: { type: 'boolean', default: false },
        writers: { type: 'string', multiple: true },
        grant: { type: 'string', multiple: true },
        revoke: { type: 'string', multiple: true },
        freeze: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false }
      }
    })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const { values } = parsed
  const positionals = parsed.positionals.map(p => p.startsWith('\0') ? negatives[Number(p.slice(1))] : p)
  const [command, ...rest] = positionals

  if (command === 'help' || (values.help && (command === undefined || command === 'help'))) {
    const topic = command === 'help' ? rest[0] : undefined
    if (topic !== undefined && !(topic in HELP) && topic !== 'daemon') throw new UsageError(`no command ${JSON.stringify(topic)}`)
    console.log(topic === 'daemon' ? await daemonHelp() : topic === undefined ? USAGE : commandHelp(topic))
    return 0
  }
  if (command === undefined) throw new UsageError('a command is needed')
  if (!(command in ARITY)) throw new UsageError(`unknown command ${JSON.stringify(command)}`)
  if (values.help) { console.log(commandHelp(command)); return 0 }

  const usage = commandHelp(command)
  const [min, max] = ARITY[command]
  if (rest.length < min) throw new UsageError(`${command} needs ${(PEER_ARGS[command] ?? (command === 'trace' ? ['KEY', 'WRITE'] : ['KEY', 'CONTRACT', 'OP'])).slice(rest.length, min).join(', ')}`, usage)
  if (rest.length > max) throw new UsageError(`${command} takes ${max === 0 ? 'no arguments' : `${max} argument${max > 1 ? 's' : ''}`}, got ${JSON.stringify(rest.slice(max)[0])} too`, usage)
  if (values.prefix !== undefined && command !== 'keys') throw new UsageError('--prefix is for keys', usage)
  if (values.wait !== undefined && command !== 'get') throw new UsageError('--wait is for get', usage)
  if (values.open && command !== 'dashboard') throw new UsageError('--open is for dashboard', usage)
  if (values.watch && command !== 'status') throw new UsageError('--watch is for status', usage)
  if (command === 'log-level' && !isLogLevel(rest[0])) throw new UsageError(`LEVEL must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(rest[0])}`, usage)
  const wait = values.wait === undefined ? undefined : /^\d{1,5}$/.test(values.wait) ? Number(values.wait) : NaN
  if (Number.isNaN(wait)) throw new UsageError(`--wait must be a whole number of milliseconds, got ${JSON.stringify(values.wait)}`, usage)
  if ((values.timeout !== undefined || values.json) && !INSPECT_COMMANDS.includes(command)) throw new UsageError(`--${values.json ? 'json' : 'timeout'} is for inspect and trace`, usage)
  const timeout = values.timeout === undefined ? undefined : /^\d{1,5}$/.test(values.timeout) && Number(values.timeout) <= 30_000 ? Number(values.timeout) : NaN
  if (Number.isNaN(timeout)) throw new UsageError(`--timeout must be a whole number of milliseconds from 0 to 30000, got ${JSON.stringify(values.timeout)}`, usage)
  if (values.writers !== undefined && command !== 'update') throw new UsageError('--writers is for update', usage)
  if ((values.grant !== undefined || values.revoke !== undefined) && command !== 'writers') throw new UsageError(`--${values.grant !== undefined ? 'grant' : 'revoke'} is for writers`, usage)
  if (command === 'writers' && (values.grant === undefined) === (values.revoke === undefined)) throw new UsageError('writers needs --grant PUBKEY or --revoke PUBKEY (one of them)', usage)
  if (values.freeze !== undefined && (values.revoke === undefined || (values.freeze !== 'all' && values.freeze !== 'none'))) throw new UsageError(`--freeze goes with writers --revoke and is all or none, got ${JSON.stringify(values.freeze)}`, usage)
  const keyList = values.writers !== undefined ? publicKeyList('--writers', values.writers) : values.grant !== undefined ? publicKeyList('--grant', values.grant) : values.revoke !== undefined ? publicKeyList('--revoke', values.revoke) : undefined
  if (keyList !== undefined && 'error' in keyList) throw new UsageError(keyList.error, usage)
  if (command === 'trace' && parseWriteId(rest[1]) === undefined) throw new UsageError(`WRITE ${JSON.stringify(rest[1])} is not a write id REPLICA/SEQ (as update prints it)`, usage)
  // Arguments are checked before the daemon is looked for: bad usage is exit 2 whether or not one runs.
  const update = command === 'update' ? updateArgs(rest, usage) : undefined
  const badPeerArg = command in PEER_ARGS ? await peerArgError(command, rest[0]) : undefined
  if (badPeerArg !== undefined) throw new UsageError(badPeerArg, usage)

  const client = await findDaemon(values.data, values.api)
  const print = (x: unknown): void => { console.log(JSON.stringify(x)) }
  const [key] = rest
  switch (command) {
    case 'get': print((await client.get(key, { wait })).value); break
    case 'update': {
      // The value on stdout (scripts pipe it to jq), the write's id on stderr.
      const r = await client.update(key, update!.contract, update!.op, update!.args, keyList === undefined ? undefined : { writers: keyList.keys })
      print(r.value)
      if (r.write !== null && r.write !== undefined) console.error(`write ${r.write}`)
      break
    }
    case 'keys': print(await client.keys(values.prefix)); break
    case 'status': if (values.watch) await watchUntilInterrupted(client); else print(await client.status()); break
    case 'log-level': print(await client.setLogLevel(rest[0])); break
    case 'writers': print(await client.writers(key, values.grant !== undefined ? { grant: keyList!.keys } : { revoke: keyList!.keys, ...values.freeze === undefined ? {} : { freeze: values.freeze as 'all' | 'none' } })); break
    case 'peers': print(await client.peers()); break
    case 'connect': print(await client.connect(key)); break
    case 'forget': await client.forget(key); print({ peerId: key, forgotten: true }); break
    case 'watch': await watch(client, key); break
    case 'dashboard': await (await import('./cli-dashboard.ts')).runDashboard(client, values.open); break
    case 'inspect': case 'trace': console.log(await runInspect(client, command, rest, { timeout, json: values.json })); break
  }
  return 0
}

function updateArgs (rest: string[], usage: string): { contract: string | { id: string }, op: string, args: JsonValue[] } {
  const [, contractText, op, ...argTexts] = rest
  const args = argTexts.map((text, i) => {
    try {
      return JSON.parse(text) as JsonValue
    } catch (err) {
      throw new UsageError(`ARG_JSON ${i + 1}, ${JSON.stringify(text)}, is not JSON (${(err as Error).message}); quote strings, e.g. '"apples"'`, usage)
    }
  })
  let contract: string | { id: string } = contractText
  if (contractText.startsWith('{')) {
    try {
      contract = JSON.parse(contractText) as { id: string }
    } catch (err) {
      throw new UsageError(`CONTRACT ${JSON.stringify(contractText)} is neither an id nor a JSON ref (${(err as Error).message})`, usage)
    }
  }
  return { contract, op, args }
}

async function watch (client: MonoidbClient, key: string): Promise<void> {
  const interrupted = new AbortController()
  const stop = (): void => { interrupted.abort() }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  for await (const event of client.watch(key, { signal: interrupted.signal })) console.log(JSON.stringify(event))
}

async function watchUntilInterrupted (client: MonoidbClient): Promise<void> {
  const interrupted = new AbortController()
  const stop = (): void => { interrupted.abort() }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  await watchStatus(client, { signal: interrupted.signal })
}

async function findDaemon (data: string | undefined, api: string | undefined): Promise<MonoidbClient> {
  if (data !== undefined && api !== undefined) throw new UsageError('give --data or --api, not both')
  if (api !== undefined) {
    let url: URL
    try {
      url = new URL(api)
    } catch {
      throw new UsageError(`--api ${JSON.stringify(api)} is not a URL, e.g. http://127.0.0.1:7420`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--api ${JSON.stringify(api)} must be an http:// or https:// URL`)
    const token = process.env.MONOIDB_TOKEN
    if (token === undefined || token === '') throw new CliError('--api needs the daemon\'s token in the MONOIDB_TOKEN environment variable (the "token" of its daemon.json)')
    return connect(api, token, await caOption(process.env.MONOIDB_CA, 'MONOIDB_CA'))
  }
  const dir = resolve(data ?? './.monoidb')
  const path = join(dir, 'daemon.json')
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new CliError(`no daemon.json in ${dir}: is a daemon running there? (start one with: monoidb daemon --data ${dir}; or use --api URL)`)
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`)
  }
  let info: { api?: unknown, token?: unknown }
  try {
    info = JSON.parse(text) as typeof info
  } catch (err) {
    throw new CliError(`${path} is not JSON: ${(err as Error).message}`)
  }
  if (typeof info?.api !== 'string' || typeof info.token !== 'string') throw new CliError(`${path} has no "api" and "token" strings`)
  return connect(info.api, info.token, await caOption((info as { ca?: unknown }).ca, `${path}'s "ca"`))
}

/** The certificate file a client trusts for an https:// daemon (node/client.ts ConnectOptions.ca). */
async function caOption (file: unknown, what: string): Promise<{ ca?: Buffer }> {
  if (file === undefined || file === '') return {}
  if (typeof file !== 'string') throw new CliError(`${what} must be a certificate file path`)
  try {
    return { ca: await readFile(file) }
  } catch (err) {
    throw new CliError(`cannot read the certificate ${file} (${what}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

function oneLine (text: string): string {
  return text.replace(/\s*\n\s*/g, ' ')
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2))
  if (code >= 0) process.exitCode = code
}
