/**
 * The daemon's report of errors that happen in the background (a merge the
 * store could not commit, say): one line each on stderr, at most `perSecond`
 * a second; past that, a count of those left out when the second ends, so a
 * storm of one error neither floods the log nor hides that it happened.
 */
export function errorLog (write: (line: string) => void, perSecond = 10, now: () => number = Date.now): (err: unknown) => void {
  let windowStart = -Infinity
  let inWindow = 0
  let skipped = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const reportSkipped = (): void => {
    clearTimeout(timer)
    timer = undefined
    if (skipped > 0) write(`monoidb daemon: ${skipped} more background error(s) not shown`)
    skipped = 0
  }
  return err => {
    const t = now()
    if (t - windowStart >= 1000) {
      reportSkipped()
      windowStart = t
      inWindow = 0
    }
    if (inWindow >= perSecond) {
      skipped++
      // Said when the second ends, even if no other error comes; unref: it must not keep the process up.
      timer ??= setTimeout(reportSkipped, Math.max(0, windowStart + 1000 - t))
      timer.unref?.()
      return
    }
    inWindow++
    const message = err instanceof Error ? err.message : String(err)
    write(`monoidb daemon: background error: ${message}`)
  }
}
