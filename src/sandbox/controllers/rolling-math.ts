/**
 * Resolves an int-or-percent against a total: surge rounds up, unavailable rounds down.
 *
 *   resolveIntOrPercent('25%', 4, true) → 1;  resolveIntOrPercent('25%', 3, false) → 0;  resolveIntOrPercent(2, 4, true) → 2
 */
export function resolveIntOrPercent(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v
  const m = /^(\d+)%$/.exec(String(v ?? '0'))
  if (!m) return Number(v) || 0
  const x = (Number(m[1]) * total) / 100
  return roundUp ? Math.ceil(x) : Math.floor(x)
}

/**
 * maxSurge and maxUnavailable of a RollingUpdate Deployment, as `ResolveFenceposts`: if both
 * are 0, unavailable becomes 1; unavailable is capped at replicas.
 *
 *   fenceposts('25%', '25%', 4) → { surge: 1, unavailable: 1 }
 *   fenceposts('25%', 0, 4) → { surge: 1, unavailable: 0 }
 *   fenceposts(0, 0, 4) → { surge: 0, unavailable: 1 }
 */
export function fenceposts(
  maxSurge: unknown,
  maxUnavailable: unknown,
  replicas: number,
): { surge: number; unavailable: number } {
  const surge = resolveIntOrPercent(maxSurge ?? '25%', replicas, true)
  let unavailable = resolveIntOrPercent(maxUnavailable ?? '25%', replicas, false)
  if (surge === 0 && unavailable === 0) unavailable = 1
  return { surge, unavailable: Math.min(unavailable, replicas) }
}

/**
 * The new ReplicaSet's replicas for the scale-up half of a rolling sync.
 *
 *   newRSReplicas({ replicas: 4, surge: 1, totalSpec: 4, newSpec: 0 }) → 1
 *   newRSReplicas({ replicas: 4, surge: 1, totalSpec: 5, newSpec: 1 }) → 1   // at replicas+surge
 *   newRSReplicas({ replicas: 4, surge: 0, totalSpec: 6, newSpec: 6 }) → 4   // scaled down
 */
export function newRSReplicas(o: {
  replicas: number
  surge: number
  totalSpec: number
  newSpec: number
}): number {
  if (o.newSpec > o.replicas) return o.replicas
  if (o.newSpec === o.replicas) return o.newSpec
  const maxTotal = o.replicas + o.surge
  if (o.totalSpec >= maxTotal) return o.newSpec
  return o.newSpec + Math.min(maxTotal - o.totalSpec, o.replicas - o.newSpec)
}

/**
 * How many old pods may go now: allPods − (replicas − maxUnavailable) − new RS unavailable.
 *
 *   maxScaleDown({ replicas: 4, unavailable: 0, allSpec: 5, newUnavailable: 0 }) → 1
 *   maxScaleDown({ replicas: 4, unavailable: 0, allSpec: 5, newUnavailable: 1 }) → 0
 */
export function maxScaleDown(o: {
  replicas: number
  unavailable: number
  allSpec: number
  newUnavailable: number
}): number {
  return o.allSpec - (o.replicas - o.unavailable) - o.newUnavailable
}

/**
 * fnv32a of a pod template, in the short form used for `pod-template-hash`.
 *
 *   templateHash({ a: 1 }) === templateHash({ a: 1 }) → true
 */
export function templateHash(template: unknown): string {
  let h = 0x811c9dc5
  const s = JSON.stringify(template)
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789'
  let out = ''
  let n = h
  do {
    out += alphabet[n % alphabet.length]
    n = Math.floor(n / alphabet.length)
  } while (n > 0)
  return out
}
