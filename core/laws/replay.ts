/**
 * The replay of a failure: the seed, and a path `LAW:FASTCHECKPATH` (just `LAW`
 * for op-inputs, which samples by seed alone). Given back as options, the path
 * reruns that law alone, straight to the shrunk counterexample.
 */
import { LAWS, type LawFailure, type LawName } from './types.ts'

export function formatPath (law: LawName, fcPath: string | undefined): string {
  return fcPath === undefined || fcPath === '' ? law : `${law}:${fcPath}`
}

/** Splits a path; throws a plain Error naming what is wrong. */
export function parsePath (path: string): { law: LawName, fcPath?: string } {
  const i = path.indexOf(':')
  const law = (i < 0 ? path : path.slice(0, i)) as LawName
  if (!LAWS.includes(law)) throw new Error(`law path ${JSON.stringify(path)} must start with a law name (${LAWS.join(', ')})`)
  const fcPath = i < 0 ? undefined : path.slice(i + 1)
  if (fcPath !== undefined && !/^\d+(:\d+)*$/.test(fcPath)) throw new Error(`law path ${JSON.stringify(path)}: after "${law}:" come numbers separated by colons`)
  return { law, fcPath }
}

/** How to rerun a failure: daemon flags and checkLaws options. */
export function replayText (f: LawFailure): string {
  return `--law-seed ${f.seed} --law-path ${f.path} (checkLaws options: { seed: ${f.seed}, path: ${JSON.stringify(f.path)} })`
}
