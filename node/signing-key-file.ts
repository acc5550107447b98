/**
 * Signing key files (`monoidb keygen FILE`, `monoidb daemon --signing-key FILE`):
 * an Ed25519 private key in PKCS#8 PEM, mode 0600. A new file is created
 * exclusively (an existing one is never overwritten: it may be the only copy of
 * someone's key). Errors name the file, never its content.
 */
import { open, readFile, stat } from 'node:fs/promises'
import { generateSigningKey, signingKeyFromPem, type SigningKey } from '../core/envelope/index.ts'

/** A PEM Ed25519 key is ~120 bytes; anything far larger is not one, and is not read whole. */
const MAX_KEY_FILE_BYTES = 16 * 1024

export class KeyFileError extends Error {
  /** 'exists': keygen found a file there; 'bad': the file cannot be used as a signing key. */
  readonly kind: 'exists' | 'bad'
  constructor (kind: 'exists' | 'bad', message: string) {
    super(message)
    this.name = 'KeyFileError'
    this.kind = kind
  }
}

/** Writes a new signing key to `path` (mode 0600, never over an existing file); resolves to its public key. */
export async function writeNewSigningKey (path: string): Promise<string> {
  const { pem, key } = generateSigningKey()
  let file
  try {
    file = await open(path, 'wx', 0o600)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') throw new KeyFileError('exists', `${path} already exists: not overwriting it (it may be the only copy of a key); choose another FILE or remove it first`)
    throw new KeyFileError('bad', `cannot create ${path}: ${code ?? (err as Error).message}`)
  }
  try {
    // The mode given to open is masked by the umask: set it outright.
    await file.chmod(0o600)
    await file.writeFile(pem)
    await file.sync()
  } finally {
    await file.close()
  }
  return key.publicKey
}

/**
 * Reads a signing key file. Refuses (KeyFileError 'bad', naming the file) one that is missing, not a
 * regular file, too large, or not an Ed25519 PKCS#8 private key; `warning` is set when others than its
 * owner have any access to it (group or world bits).
 */
export async function readSigningKeyFile (path: string): Promise<{ key: SigningKey, warning?: string }> {
  let info
  try {
    info = await stat(path)
  } catch (err) {
    throw new KeyFileError('bad', `cannot read signing key file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  if (!info.isFile()) throw new KeyFileError('bad', `signing key file ${path} is not a regular file`)
  if (info.size > MAX_KEY_FILE_BYTES) throw new KeyFileError('bad', `signing key file ${path} is not an Ed25519 PKCS#8 private key (${info.size} bytes; a key file is a few hundred; make one with monoidb keygen FILE)`)
  let pem: string
  try {
    pem = await readFile(path, 'utf8')
  } catch (err) {
    throw new KeyFileError('bad', `cannot read signing key file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  let key: SigningKey
  try {
    key = signingKeyFromPem(pem)
  } catch {
    // The parser's message is not passed on: it could quote part of the file.
    throw new KeyFileError('bad', `signing key file ${path} is not an Ed25519 PKCS#8 private key in PEM (make one with monoidb keygen FILE)`)
  }
  const open = info.mode & 0o077
  const warning = open === 0 ? undefined : `signing key file ${path} is open to others than its owner (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}): anyone who can read it can write as this key; chmod 600 ${path}`
  return warning === undefined ? { key } : { key, warning }
}
