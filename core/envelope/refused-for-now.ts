/**
 * A state refused for now, not found invalid: checking it whole would cost more than one message may
 * (signature verifies, checkpoint tests). What was checked is remembered, so a resend goes further and the
 * state arrives over a few sync sessions. Its sender is not charged (core/sync/merger.ts), and a push holding
 * one is "cannot judge" (core/sync/push-check.ts), never invalid.
 */
import { ContractError } from '../errors.ts'

export class RefusedForNow extends ContractError {
  constructor (message: string) {
    super('invalid_state', message)
  }
}
