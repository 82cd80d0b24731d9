/** What `stableReached` reads of a Deployment: its generation and the controller's status. */
export interface RolloutView {
  generation?: number
  status?: {
    observedGeneration?: number
    replicas?: number
    updatedReplicas?: number
    readyReplicas?: number
    availableReplicas?: number
  }
}

/**
 * Whether a Deployment's controller has acted on its latest spec and it has `n` Ready pods;
 * with `all`, as `kubectl rollout status` waits: `n` updated and available pods and no old
 * ones left.
 *
 *   stableReached({ generation: 2, status: { observedGeneration: 1, readyReplicas: 4 } }, 4, false) → false
 *   stableReached({ generation: 2, status: { observedGeneration: 2, readyReplicas: 4 } }, 4, false) → true
 */
export function stableReached(d: RolloutView, n: number, all: boolean): boolean {
  const st = d.status ?? {}
  return (
    (st.observedGeneration ?? 0) >= (d.generation ?? 0) &&
    (st.readyReplicas ?? 0) >= n &&
    (!all || ((st.updatedReplicas ?? 0) >= n && (st.replicas ?? 0) <= n && (st.availableReplicas ?? 0) >= n))
  )
}
