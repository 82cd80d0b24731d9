/**
 * Fencing tokens for the release Lease. Each acquisition of `edgecanary-<app>` bumps
 * `leaseTransitions`; the epoch is that number plus the holder, `7/edgecanary@host:123`.
 * The holder writes its epoch as an annotation on the objects it drives, and each of its
 * writes is conditional on that annotation (and on the object's resourceVersion), so a holder
 * whose Lease was taken over cannot write after the new holder claimed the object.
 */
export interface Epoch {
  n: number
  holder: string
}

/**
 *   formatEpoch({ n: 7, holder: 'edgecanary@pi:12' }) → '7/edgecanary@pi:12'
 */
export function formatEpoch(e: Epoch): string {
  return `${e.n}/${e.holder}`
}

/**
 *   parseEpoch('7/edgecanary@pi:12') → { n: 7, holder: 'edgecanary@pi:12' }
 *   parseEpoch('junk') → undefined
 */
export function parseEpoch(text: string | undefined): Epoch | undefined {
  const m = /^(\d+)\/(.+)$/.exec(text ?? '')
  return m ? { n: Number(m[1]), holder: m[2] } : undefined
}

/**
 * Whether a holder with epoch `mine` may write an object whose epoch annotation is `onObject`.
 * `claim` (right after taking the Lease): the object is unclaimed, already ours, or claimed by an
 * older epoch. `write` (every later write): only when the object carries exactly our epoch; a
 * newer epoch means the Lease was taken over and this holder must stop. A junk annotation is
 * treated as unclaimed.
 *
 *   fenceDecision(undefined, 3/a, 'claim') → 'write'
 *   fenceDecision(2/b,       3/a, 'claim') → 'write'    // older holder: take it over
 *   fenceDecision(4/c,       3/a, 'claim') → 'refuse'   // someone took over after us
 *   fenceDecision(4/c,       3/a, 'write') → 'refuse'
 *   fenceDecision(3/a,       3/a, 'write') → 'write'
 */
export function fenceDecision(
  onObject: Epoch | undefined,
  mine: Epoch,
  mode: 'claim' | 'write',
): 'write' | 'refuse' {
  const same = onObject !== undefined && onObject.n === mine.n && onObject.holder === mine.holder
  if (same) return 'write'
  if (mode === 'write') return 'refuse'
  return onObject === undefined || onObject.n < mine.n ? 'write' : 'refuse'
}
