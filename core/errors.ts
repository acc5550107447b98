/** Why a contract-level request failed. Stable strings: the HTTP API and CLI surface them. */
export type ContractErrorCode =
  | 'unknown_contract'
  | 'unknown_op'
  | 'bad_args'
  | 'invalid_state'
  | 'invalid_summary'
  | 'contract_mismatch'
  | 'law_broken'
  | 'bad_contract'
  | 'bad_key'
  | 'unauthorized_write'

/** Every failure a contract, the registry or the store reports about a request. */
export class ContractError extends Error {
  readonly code: ContractErrorCode
  /** For 'unknown_contract': the name of the contract this peer lacks (e.g. a nested one), when it is not the request's. */
  readonly contract?: string
  constructor (code: ContractErrorCode, message: string, options?: { cause?: unknown, contract?: string }) {
    super(message, options)
    this.name = 'ContractError'
    this.code = code
    if (options?.contract !== undefined) this.contract = options.contract
  }
}

/** Raised by the codec for bytes it will not decode (or values it will not encode). */
export class CodecError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'CodecError'
  }
}
