/**
 * Private swarms: a pre-shared key (libp2p pnet, XSalsa20) that every peer of
 * a swarm holds. Each connection is wrapped in it before noise starts, so a
 * peer without the same key sees only random bytes: it cannot finish the
 * handshake, learn our peer id, or hear our topics.
 *
 * The file is the standard text pnet (go-libp2p, IPFS) reads:
 *
 *   /key/swarm/psk/1.0.0/
 *   /base16/
 *   <64 hex digits: 32 random bytes>
 *
 * `monoidb swarm-key FILE` writes a new one (mode 0600, never over an existing
 * file). A key file is read and checked before anything starts; errors name the
 * file, never its contents.
 */
import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { open, readFile, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { preSharedKey } from '@libp2p/pnet'

export const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/'
/** The only encoding accepted: the one pnet's own generator writes (go-libp2p also knows /base64/, rarely used). */
const ENCODING = '/base16/'
/** A key file is three short lines; anything much bigger is not one (and is not read whole). */
const MAX_FILE_BYTES = 1_024
/** Permission bits that must be clear on a key file: any access by group or others. */
const FOREIGN_ACCESS = 0o077

export class SwarmKeyError extends Error {}

export const SWARM_KEY_USAGE = `usage: monoidb swarm-key FILE

Writes a new private-swarm key to FILE (mode 0600; an existing FILE is never overwritten),
in the text format libp2p's pnet uses (/key/swarm/psk/1.0.0/, /base16/, 64 hex digits).
Give the same FILE to every daemon of the swarm with \`monoidb daemon --swarm-key FILE\`:
a daemon without it cannot connect to them, nor they to it. Copy it only over channels you trust.`

/** A new key file's text: 32 random bytes. */
export function newSwarmKey (): string {
  return `${SWARM_KEY_HEADER}\n${ENCODING}\n${randomBytes(32).toString('hex')}\n`
}

/** Checks a key file's bytes; returns them as pnet takes them. Throws a SwarmKeyError naming `file` (never quoting the key). */
export function parseSwarmKey (bytes: Uint8Array, file: string): Uint8Array {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes)
  const lines = text.split(/\r\n|\r|\n/)
  while (lines.length > 3 && lines[lines.length - 1] === '') lines.pop()
  if (lines[0] !== SWARM_KEY_HEADER) throw new SwarmKeyError(`swarm key ${file} is not a swarm key: its first line must be ${SWARM_KEY_HEADER} (make one with monoidb swarm-key FILE)`)
  if (lines[1] !== ENCODING) throw new SwarmKeyError(`swarm key ${file}: its second line must be ${ENCODING} (the only encoding supported)`)
  if (lines.length !== 3 || !/^[0-9a-fA-F]{64}$/.test(lines[2])) throw new SwarmKeyError(`swarm key ${file}: its third line must be the key, 64 hex digits (32 bytes), and nothing may follow it`)
  const normal = new TextEncoder().encode(`${SWARM_KEY_HEADER}\n${ENCODING}\n${lines[2].toLowerCase()}`)
  preSharedKey({ psk: normal })() // pnet's own check, so what we accept it accepts
  return normal
}

/** Reads and checks a key file: a regular file, not readable by others, in the format above. */
export async function readSwarmKey (file: string): Promise<Uint8Array> {
  const path = resolve(file)
  let info
  try {
    info = await stat(path)
  } catch (err) {
    throw new SwarmKeyError(`cannot read swarm key ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  if (!info.isFile()) throw new SwarmKeyError(`swarm key ${path} is not a regular file`)
  if (info.size > MAX_FILE_BYTES) throw new SwarmKeyError(`swarm key ${path} is ${info.size} bytes: not a swarm key (one is under 100 bytes)`)
  if (process.platform !== 'win32' && (info.mode & FOREIGN_ACCESS) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(3, '0')
    throw new SwarmKeyError(`swarm key ${path} has mode ${mode}: others may read it, and whoever reads it can join the swarm; run \`chmod 600 ${path}\``)
  }
  let bytes
  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new SwarmKeyError(`cannot read swarm key ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  return parseSwarmKey(bytes, path)
}

/** Writes a new key to `file` (0600), refusing an existing file. */
export async function writeSwarmKey (file: string): Promise<void> {
  const path = resolve(file)
  let handle
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new SwarmKeyError(`${path} already exists: not overwritten (a swarm's peers must keep their key; delete it first to replace it)`)
    throw new SwarmKeyError(`cannot create ${path}: ${code ?? (err as Error).message}`)
  }
  try {
    await handle.writeFile(newSwarmKey())
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** `monoidb swarm-key FILE`: returns the exit code (0 written, 1 cannot write, 2 bad usage). */
export async function runSwarmKey (argv: readonly string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) { console.log(SWARM_KEY_USAGE); return 0 }
  if (argv.length !== 1 || argv[0].startsWith('-')) {
    console.error(`monoidb swarm-key: ${argv.length === 0 ? 'FILE is needed' : argv.length > 1 ? `one FILE only, got ${argv.length} arguments` : `unknown option ${JSON.stringify(argv[0])}`}\n\n${SWARM_KEY_USAGE}`)
    return 2
  }
  try {
    await writeSwarmKey(argv[0])
  } catch (err) {
    console.error(`monoidb swarm-key: ${(err as Error).message}`)
    return 1
  }
  console.log(`wrote a new swarm key to ${resolve(argv[0])} (mode 0600): start every daemon of the swarm with --swarm-key ${resolve(argv[0])}`)
  return 0
}
