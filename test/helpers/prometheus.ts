// Prometheus exposition text, parsed by parse-prometheus-text-format and then checked strictly: the
// parser is lenient (it takes "a b c" as a sample valued "b"), so every family must be typed, every
// name valid, every value a number. It also folds a histogram's label sets into one (prom2json does so
// only for unlabelled ones): a labelled histogram's _bucket, _sum and _count series are parsed again,
// each as a gauge family of its own, to read them per label set.
import parse from 'parse-prometheus-text-format'

export interface Sample { labels: Record<string, string>, value: number }
export interface Family { name: string, help: string, type: 'counter' | 'gauge' | 'histogram' | 'summary', samples: Sample[], histograms: Array<{ labels: Record<string, string>, count: number, sum: number, buckets: Record<string, number> }> }

interface Raw { name: string, help: string, type: string, metrics: Array<{ value?: string, labels?: Record<string, string>, buckets?: Record<string, string>, count?: string, sum?: string }> }

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/

function num (text: string | undefined, where: string): number {
  const n = text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : text === 'NaN' ? NaN : text !== undefined && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) ? Number(text) : undefined
  if (n === undefined) throw new Error(`${where}: value ${JSON.stringify(text)} is not a number`)
  return n
}

/** The families by name; throws naming the first thing that is not valid exposition. */
export function parseMetrics (text: string): Map<string, Family> {
  const raw = (parse as (t: string) => Raw[])(text)
  const out = new Map<string, Family>()
  for (const f of raw) {
    if (!NAME.test(f.name)) throw new Error(`metric name ${JSON.stringify(f.name)} is not valid`)
    const type = f.type.toLowerCase()
    if (type !== 'counter' && type !== 'gauge' && type !== 'histogram' && type !== 'summary') throw new Error(`metric ${f.name} has type ${f.type}: every metric needs a # TYPE line`)
    if (out.has(f.name)) throw new Error(`metric ${f.name} appears twice`)
    const fam: Family = { name: f.name, help: f.help, type, samples: [], histograms: [] }
    for (const m of f.metrics) {
      for (const [k] of Object.entries(m.labels ?? {})) if (!NAME.test(k)) throw new Error(`${f.name}: label name ${JSON.stringify(k)} is not valid`)
      if (type === 'histogram') {
        const buckets: Record<string, number> = {}
        for (const [le, v] of Object.entries(m.buckets ?? {})) buckets[le] = num(v, `${f.name} bucket ${le}`)
        if (!('+Inf' in buckets)) throw new Error(`${f.name}: a histogram needs a +Inf bucket`)
        if (m.count !== undefined) fam.histograms.push({ labels: m.labels ?? {}, count: num(m.count, `${f.name}_count`), sum: num(m.sum, `${f.name}_sum`), buckets })
        else fam.histograms.push(...labelledHistograms(text, f.name))
      } else {
        fam.samples.push({ labels: m.labels ?? {}, value: num(m.value, f.name) })
      }
    }
    out.set(f.name, fam)
  }
  return out
}

/** A labelled histogram's series, parsed as three gauge families (see the file comment). */
function labelledHistograms (text: string, name: string): Family['histograms'] {
  const series = (suffix: string): Array<{ labels: Record<string, string>, value: number }> => {
    const lines = text.split('\n').filter(l => !l.startsWith('#') && /^[^{ ]+/.exec(l)?.[0] === name + suffix)
    const [f] = (parse as (t: string) => Raw[])(`# TYPE ${name}${suffix} gauge\n${lines.join('\n')}\n`)
    return (f?.metrics ?? []).map(m => ({ labels: m.labels ?? {}, value: num(m.value, name + suffix) }))
  }
  const key = (labels: Record<string, string>): string => JSON.stringify(Object.entries(labels).filter(([k]) => k !== 'le').sort())
  const out = new Map<string, Family['histograms'][number]>()
  for (const c of series('_count')) out.set(key(c.labels), { labels: c.labels, count: c.value, sum: NaN, buckets: {} })
  for (const s of series('_sum')) { const h = out.get(key(s.labels)); if (h === undefined) throw new Error(`${name}_sum without _count`); h.sum = s.value }
  for (const b of series('_bucket')) {
    const h = out.get(key(b.labels))
    if (h === undefined || b.labels.le === undefined) throw new Error(`${name}_bucket without _count or le`)
    h.buckets[b.labels.le] = b.value
  }
  for (const h of out.values()) if (!('+Inf' in h.buckets) || Number.isNaN(h.sum)) throw new Error(`${name}: a histogram needs a +Inf bucket and a _sum per label set`)
  return [...out.values()]
}

/** The sum of a family's samples whose labels include `labels` (0 if none). */
export function total (metrics: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const fam = metrics.get(name)
  if (fam === undefined) throw new Error(`no metric ${name}`)
  return fam.samples.filter(s => Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0)
}
