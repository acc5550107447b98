/**
 * --api-tls-cert FILE --api-tls-key FILE: the API's certificate (PEM, the
 * chain if any, leaf first) and private key (PEM), read and checked at start:
 * each parses, the key matches the certificate, and the key file is not
 * readable by others. Errors name the file, never its contents.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import type { ApiTls } from './api-server.ts'

export class ApiTlsError extends Error {}

/** A certificate chain or key is a few KiB; a bigger file is not one. */
const MAX_FILE_BYTES = 1024 * 1024
const FOREIGN_ACCESS = 0o077

async function readPem (file: string, what: string, privateFile: boolean): Promise<Buffer> {
  let info
  try {
    info = await stat(file)
  } catch (err) {
    throw new ApiTlsError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  if (!info.isFile()) throw new ApiTlsError(`${what} ${file} is not a regular file`)
  if (info.size > MAX_FILE_BYTES) throw new ApiTlsError(`${what} ${file} is ${info.size} bytes: too big for a PEM file`)
  if (privateFile && process.platform !== 'win32' && (info.mode & FOREIGN_ACCESS) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(3, '0')
    throw new ApiTlsError(`${what} ${file} has mode ${mode}: others may read the API's private key; run \`chmod 600 ${file}\``)
  }
  try {
    return await readFile(file)
  } catch (err) {
    throw new ApiTlsError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

/** Reads and checks the pair; paths are resolved against the working folder. */
export async function readApiTls (certFile: string, keyFile: string): Promise<ApiTls & { certFile: string }> {
  const certPath = resolve(certFile)
  const keyPath = resolve(keyFile)
  const cert = await readPem(certPath, '--api-tls-cert', false)
  const key = await readPem(keyPath, '--api-tls-key', true)
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(cert)
  } catch (err) {
    throw new ApiTlsError(`--api-tls-cert ${certPath} is not a PEM certificate (${(err as Error).message})`)
  }
  let privateKey
  try {
    privateKey = createPrivateKey(key)
  } catch {
    // Not the library's message: it could quote the file.
    throw new ApiTlsError(`--api-tls-key ${keyPath} is not an unencrypted PEM private key`)
  }
  if (!x509.checkPrivateKey(privateKey)) throw new ApiTlsError(`--api-tls-key ${keyPath} does not match the certificate in --api-tls-cert ${certPath}`)
  if (Date.parse(x509.validTo) < Date.now()) throw new ApiTlsError(`--api-tls-cert ${certPath} expired on ${x509.validTo}`)
  return { cert, key, certFile: certPath }
}
