/**
 * The CLI's owned-key arguments: `update … --writers PUBKEY[,PUBKEY…]` and
 * `writers KEY --grant PUBKEY` / `--revoke PUBKEY` (each repeatable, each a
 * comma list). Checked before the daemon is looked for: a bad key is bad usage.
 */
import { parsePublicKey } from '../core/envelope/index.ts'

export const WRITERS_HELP = `usage: monoidb writers KEY (--grant PUBKEY[,PUBKEY...] | --revoke PUBKEY[,PUBKEY...] [--freeze all|none]) [--data DIR | --api URL]

Changes who may write the owned key KEY: --grant adds writers, --revoke removes
them (each repeatable, or a comma list). Only the key's owner may: the daemon
must run with the owner's --signing-key, else exit 1 "unauthorized_write". The
owner cannot be revoked. A revoke keeps the writer's changes this daemon has
seen (--freeze all, the default) or none of them (--freeze none: how to drop a
hostile writer's junk). Prints {"key","owner","writers"}: the key's writers
after the change. PUBKEY is a public key as monoidb keygen prints it,
ed25519:<base64url of 32 bytes>.`

/** The public keys named by a repeatable flag, each value a comma list; a message naming the bad one, as `error`. */
export function publicKeyList (flag: string, values: readonly string[]): { keys: string[] } | { error: string } {
  const keys: string[] = []
  for (const value of values) {
    for (const part of value.split(',')) {
      const k = part.trim()
      try {
        parsePublicKey(k)
      } catch {
        return { error: `${flag} ${JSON.stringify(k)} is not a public key: expected ed25519:<base64url of 32 bytes>, as monoidb keygen prints it` }
      }
      if (!keys.includes(k)) keys.push(k)
    }
  }
  if (keys.length === 0) return { error: `${flag} needs at least one public key` }
  return { keys }
}
