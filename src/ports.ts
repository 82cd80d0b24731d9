/**
 * The interfaces the services use for side effects, in their words rather than a library's.
 * Adapters in src/adapters (client-node, ssh2, dockerode) and plain-Node implementations
 * (registry client over fetch, Go toolchain runner) implement them; tests run the same
 * services against real servers through the same implementations.
 *
 * Sections are owned by the part that uses them: build/registry, release (cluster), bootstrap
 * (remote shell), and progress (shared).
 */

// ── progress (shared) ────────────────────────────────────────────────────────────────────

/** Long work reports steps through this; commands render it with listr2 (TTY) or plain lines. */
export interface Progress {
  /** A step starts; returns a function that ends it (ok or failed with a short reason). */
  step(title: string): StepHandle
  /** A one-line note under the current step. */
  note(line: string): void
}

export interface StepHandle {
  update(detail: string): void
  done(summary?: string): void
  fail(reason: string): void
}

/** Discards everything; for services called without a UI (tests, --json). */
export const silentProgress: Progress = {
  step: () => ({ update() {}, done() {}, fail() {} }),
  note() {},
}

// ── build & registry (src/build, src/registry) ───────────────────────────────────────────
// Owned by the build/registry work; see src/registry and src/build for the implementations.

// ── cluster (src/release, src/verify, src/adapters/kube-*.ts) ────────────────────────────
// Owned by the release work.

// ── remote shell (src/bootstrap, src/adapters/ssh-*.ts) ──────────────────────────────────
// Owned by the bootstrap work.
