/**
 * The daemon's report of errors that happen in the background (a merge the
 * store could not commit, say): one line each on stderr, at most `perSecond`
 * a second; past that, a count of those left out, so a storm of one error
 * neither floods the log nor hides that it happened.
 */
export function errorLog (write: (line: string) => void, perSecond = 10, now: () => number = Date.now): (err: unknown) => void {
  let windowStart = -Infinity
  let inWindow = 0
  let skipped = 0
  return err => {
    const t = now()
    if (t - windowStart >= 1000) {
      if (skipped > 0) write(`monoidb daemon: ${skipped} more background error(s) not shown`)
      windowStart = t
      inWindow = 0
      skipped = 0
    }
    if (inWindow >= perSecond) { skipped++; return }
    inWindow++
    const message = err instanceof Error ? err.message : String(err)
    write(`monoidb daemon: background error: ${message}`)
  }
}
