// The package ships no types: its one export, as prometheus.ts uses it (prom2json-shaped families).
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat (text: string): unknown[]
}
