/**
 * A peer's persistent identity: an Ed25519 private key in `DATA_DIR/peer-key`
 * (libp2p's protobuf encoding), so a restarted peer keeps its peer id and other
 * peers recognize it. The file is created on first start, readable by its owner
 * only (0600), and refused afterwards if anyone else may read or write it: a
 * leaked key lets someone else speak as this peer.
 */
import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

export const PEER_KEY_FILE = 'peer-key'

/** Permission bits that must be clear on the key file: any access by group or others. */
const FOREIGN_ACCESS = 0o077

/** Loads the peer key from `dataDir`, creating the folder (0700) and the key (0600) on first use. */
export async function loadOrCreatePeerKey (dataDir: string): Promise<PrivateKey> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const file = join(dataDir, PEER_KEY_FILE)
  try {
    return await readPeerKey(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const key = await generateKeyPair('Ed25519')
  if (await createExclusively(file, privateKeyToProtobuf(key))) return key
  return await readPeerKey(file) // another process created it first: use theirs
}

/** Reads and checks an existing key file; a missing file is an ENOENT error, anything wrong a clear Error naming the file. */
export async function readPeerKey (file: string): Promise<PrivateKey> {
  const info = await stat(file)
  if (!info.isFile()) throw new Error(`peer key ${file} is not a regular file`)
  if (process.platform !== 'win32' && (info.mode & FOREIGN_ACCESS) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(3, '0')
    throw new Error(`peer key ${file} has mode ${mode}: others may read or change it; run \`chmod 600 ${file}\` if it is yours, or delete it to get a new peer id`)
  }
  const bytes = await readFile(file)
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new Error(`peer key ${file} is not a libp2p private key (${(err as Error).message}); delete it to get a new peer id`, { cause: err })
  }
  if (key.type !== 'Ed25519') throw new Error(`peer key ${file} is a ${key.type} key; monoidb expects Ed25519`)
  return key
}

/**
 * Writes `bytes` to `file` only if it does not exist, atomically: the key goes to a private temp
 * file (0600, fsynced) that is then hard-linked into place, so a crash never leaves a half-written
 * key and two processes starting at once agree on one. Returns false if the file already existed.
 */
async function createExclusively (file: string, bytes: Uint8Array): Promise<boolean> {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await link(temp, file)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    await unlink(temp).catch(() => {})
  }
}
