/** JSON values: what ops take as arguments and what views return. */
import { preview } from './preview.ts'

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }
export type JsonObject = { [key: string]: JsonValue }

/** Nesting bound of the CBOR decoder. */
export const MAX_DEPTH = 64
/**
 * Nesting bound of a JSON value. Half the decoder's, so a value still decodes
 * when a contract wraps it in its state and the protocol wraps that in a message.
 */
export const MAX_VALUE_DEPTH = 32

/**
 * Returns a description of why `x` is not a plain JSON value, or undefined if it is.
 * Rejects non-finite numbers, non-plain objects, `__proto__` keys, strings with
 * lone surrogates (they have no UTF-8 form) and nesting past MAX_VALUE_DEPTH.
 */
export function jsonProblem (x: unknown, depth = 0): string | undefined {
  if (depth > MAX_VALUE_DEPTH) return `nested deeper than ${MAX_VALUE_DEPTH}`
  if (x === null || typeof x === 'boolean') return undefined
  if (typeof x === 'string') return x.isWellFormed() ? undefined : 'string has a lone surrogate (not valid Unicode)'
  if (typeof x === 'number') return Number.isFinite(x) ? undefined : `non-finite number ${x}`
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) {
      const p = jsonProblem(x[i], depth + 1)
      if (p !== undefined) return `[${i}]: ${p}`
    }
    return undefined
  }
  if (typeof x === 'object') {
    const proto = Object.getPrototypeOf(x)
    if (proto !== Object.prototype && proto !== null) return 'not a plain object'
    for (const k of Object.keys(x)) {
      if (k === '__proto__') return 'key "__proto__" is not allowed'
      if (!k.isWellFormed()) return 'key has a lone surrogate (not valid Unicode)'
      const p = jsonProblem((x as Record<string, unknown>)[k], depth + 1)
      if (p !== undefined) return `.${k}: ${p}`
    }
    return undefined
  }
  return `${typeof x} is not a JSON value`
}

export function isJsonValue (x: unknown): x is JsonValue {
  return jsonProblem(x) === undefined
}

/** A value shown in an error message: JSON, cut to 80 characters (at a cost bounded by that, see preview.ts). */
export function short (x: unknown): string {
  return preview(x, 80)
}

/** A plain object (not an array, not a class instance): what decoded CBOR maps are. */
export function isPlainObject (x: unknown): x is Record<string, unknown> {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return false
  const proto = Object.getPrototypeOf(x)
  return proto === Object.prototype || proto === null
}
