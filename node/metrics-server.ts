/**
 * `--metrics HOST:PORT`: GET /metrics on a port of its own, without the API token, for a Prometheus
 * scraper that should not hold it. It serves nothing else, answers GET only, and bounds what a stranger
 * can hold open as the API does (short header and request timeouts, a connection cap).
 */
import { type Server, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ConnectionCap } from './connection-cap.ts'
import { HttpError, sendError } from './http-errors.ts'
import { notMetrics, sendMetrics } from './http-observability.ts'
import type { NodeMetrics } from './metrics.ts'

/** Scrapers are few: a small cap is plenty. */
export const METRICS_MAX_CONNECTIONS = 32

export interface MetricsServer {
  /** e.g. http://127.0.0.1:9464 (the bound port when 0 was given). */
  readonly url: string
  close: () => Promise<void>
}

export async function startMetricsServer (metrics: NodeMetrics, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const serve = async (): Promise<void> => {
      if (path !== '/metrics') throw notMetrics(req)
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method_not_allowed', `${req.method ?? ''} is not allowed here; use GET`, { allow: 'GET' })
      await sendMetrics(metrics, res)
    }
    serve().catch(err => { sendError(res, err) })
  })
  new ConnectionCap(METRICS_MAX_CONNECTIONS).attach(server)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port, backlog: 16 }, () => { server.off('error', reject); resolve() })
  })
  const { address, port: bound } = server.address() as AddressInfo
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${bound}`,
    async close () {
      const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
      server.closeAllConnections()
      await closed
    }
  }
}

/** Whether `host` names this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}
