/**
 * `monoidb keygen FILE`: writes a new Ed25519 signing key (PKCS#8 PEM, mode
 * 0600) and prints its public key, the name writers are granted by. No daemon
 * needed. An existing FILE is never overwritten (exit 2, naming it).
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { KeyFileError, writeNewSigningKey } from './signing-key-file.ts'

export const KEYGEN_USAGE = `usage: monoidb keygen FILE

Writes a new Ed25519 signing key to FILE (PKCS#8 PEM, mode 0600) and prints
its public key, ed25519:<base64url>, on stdout: give it to owners who grant you
writing (monoidb writers KEY --grant PUBKEY), or name it in --writers when you
create an owned key. Start a daemon that signs its writes with it:
monoidb daemon --signing-key FILE. Refuses to overwrite an existing FILE (exit 2).
Keep FILE secret: whoever reads it can write as this key.`

export async function runKeygen (argv: readonly string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({ args: [...argv], strict: true, allowPositionals: true, options: { help: { type: 'boolean', short: 'h', default: false } } })
  } catch (err) {
    console.error(`monoidb: ${(err as Error).message}\n\n${KEYGEN_USAGE}`)
    return 2
  }
  if (parsed.values.help) { console.log(KEYGEN_USAGE); return 0 }
  const [file, ...extra] = parsed.positionals
  if (file === undefined || file === '') { console.error(`monoidb: keygen needs FILE, where to write the key\n\n${KEYGEN_USAGE}`); return 2 }
  if (extra.length > 0) { console.error(`monoidb: keygen takes 1 argument, got ${JSON.stringify(extra[0])} too\n\n${KEYGEN_USAGE}`); return 2 }
  try {
    console.log(await writeNewSigningKey(resolve(file)))
    return 0
  } catch (err) {
    if (err instanceof KeyFileError) {
      console.error(`monoidb: keygen: ${err.message}`)
      return err.kind === 'exists' ? 2 : 1
    }
    throw err
  }
}
