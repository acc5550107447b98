/**
 * What the node and daemon log through: pino's method shape (an object of fields, then a message), so the
 * daemon passes its pino logger and an embedding app passes its own or none. Levels follow pino.
 */
export interface Logger {
  error (fields: object, msg: string): void
  warn (fields: object, msg: string): void
  info (fields: object, msg: string): void
  debug (fields: object, msg: string): void
}

export const SILENT_LOGGER: Logger = { error () {}, warn () {}, info () {}, debug () {} }
