export interface Split {
  stable: number
  canary: number
}

/**
 * Splits `total` pods between stable and canary for a canary weight in percent, with Argo
 * Rollouts' rules: the closest whole number (ties round up), and between 1 and 99 % both
 * sides keep at least one pod when there are at least two.
 *
 *   splitReplicas(4, 25) → { stable: 3, canary: 1 }   // the seed's 3:1
 *   splitReplicas(4, 10) → { stable: 3, canary: 1 }   // nearest is 0; a canary keeps 1
 *   splitReplicas(4, 99) → { stable: 1, canary: 3 }   // stable keeps 1
 */
export function splitReplicas(total: number, weight: number): Split {
  if (weight <= 0) return { stable: total, canary: 0 }
  if (weight >= 100) return { stable: 0, canary: total }
  let canary = Math.floor((total * weight) / 100 + 0.5)
  if (total >= 2) canary = Math.min(Math.max(canary, 1), total - 1)
  return { stable: total - canary, canary }
}
