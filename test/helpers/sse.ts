// Reading text/event-stream responses in tests: every block as {id, data}, id-only blocks included
// (they move a client's last event id), with a deadline so a test never hangs on a silent stream.
export interface SseBlock { id?: string, data?: any }

export interface SseReader {
  status: number
  headers: Headers
  /** Blocks received so far. */
  blocks: SseBlock[]
  /** Waits until `cond(blocks)` holds; fails naming `what` after `ms`. */
  until: (what: string, cond: (blocks: SseBlock[]) => boolean, ms?: number) => Promise<void>
  /** The id of the newest block that had one. */
  lastId: () => string | undefined
  close: () => void
}

export async function openSse (url: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const stop = new AbortController()
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: stop.signal })
  const blocks: SseBlock[] = []
  let failure: Error | undefined
  if (res.ok && res.body !== null) {
    const body = res.body
    void (async () => {
      const decoder = new TextDecoder()
      let buffer = ''
      try {
        for await (const chunk of body) {
          buffer += decoder.decode(chunk, { stream: true })
          let end: number
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const lines = buffer.slice(0, end).split('\n')
            buffer = buffer.slice(end + 2)
            if (lines.every(l => l.startsWith(':'))) continue // a keep-alive comment
            const block: SseBlock = {}
            for (const l of lines) {
              if (l.startsWith('id: ')) block.id = l.slice(4)
              else if (l.startsWith('data: ')) block.data = JSON.parse(l.slice(6))
            }
            blocks.push(block)
          }
        }
      } catch (err) {
        if (!stop.signal.aborted) failure = err as Error
      }
    })()
  }
  return {
    status: res.status,
    headers: res.headers,
    blocks,
    async until (what, cond, ms = 10_000) {
      const end = Date.now() + ms
      while (!cond(blocks)) {
        if (failure !== undefined) throw failure
        if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}; got ${JSON.stringify(blocks)}`)
        await new Promise(resolve => setTimeout(resolve, 20))
      }
    },
    lastId () {
      for (let i = blocks.length - 1; i >= 0; i--) if (blocks[i].id !== undefined) return blocks[i].id
      return undefined
    },
    close () { stop.abort(); if (!res.bodyUsed) void res.body?.cancel().catch(() => {}) }
  }
}
