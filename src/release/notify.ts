export interface ReleaseEvent {
  app: string
  namespace: string
  version: string
  previousVersion?: string
  phase: string
  step?: number
  weight?: number
  stable?: number
  canary?: number
  reason?: string
  at: string
}

export type WebhookKind = 'slack' | 'teams' | 'discord' | 'json'

/**
 * The webhook flavour of a URL, by host.
 *
 *   webhookKind('https://hooks.slack.com/services/T/B/X') → 'slack'
 *   webhookKind('https://discord.com/api/webhooks/1/abc') → 'discord'
 *   webhookKind('http://127.0.0.1:9000/hook') → 'json'
 */
export function webhookKind(url: string): WebhookKind {
  const host = new URL(url).hostname
  if (host === 'hooks.slack.com') return 'slack'
  if (host.endsWith('webhook.office.com') || host === 'outlook.office.com') return 'teams'
  if ((host === 'discord.com' || host === 'discordapp.com') && url.includes('/api/webhooks/'))
    return 'discord'
  return 'json'
}

/** One line for humans: `kubeapp 2.0 Progressing — step 1: 3:1 (25%)`. */
export function eventLine(e: ReleaseEvent): string {
  const ratio =
    e.stable !== undefined && e.canary !== undefined
      ? ` — step ${e.step}: ${e.stable}:${e.canary} (${e.weight}%)`
      : ''
  return `${e.app} ${e.version} ${e.phase}${ratio}${e.reason ? ` — ${e.reason}` : ''} [${e.namespace}]`
}

/**
 * The webhook body for a kind.
 *
 *   webhookBody('slack', event) → { text: 'kubeapp 2.0 Succeeded …' }
 */
export function webhookBody(kind: WebhookKind, e: ReleaseEvent): unknown {
  const line = eventLine(e)
  switch (kind) {
    case 'slack':
      return { text: line }
    case 'discord':
      return {
        content: line,
        embeds: [
          { title: `${e.app} ${e.version}: ${e.phase}`, description: e.reason ?? '', timestamp: e.at },
        ],
      }
    case 'teams':
      return {
        '@type': 'MessageCard',
        '@context': 'https://schema.org/extensions',
        summary: line,
        themeColor: /RolledBack|RollingBack|Aborted/.test(e.phase) ? 'D70000' : '0076D7',
        title: `${e.app} ${e.version}: ${e.phase}`,
        text: line,
      }
    default:
      return { event: 'edgecanary.release', ...e }
  }
}

/** Posts an event to every webhook; a failing webhook is reported on stderr and never fails the release. */
export async function notify(
  urls: string[],
  e: ReleaseEvent,
  opts: { kind?: WebhookKind; timeoutMs?: number } = {},
): Promise<void> {
  await Promise.all(
    urls.map(async (url) => {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(webhookBody(opts.kind ?? webhookKind(url), e)),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 3000),
        })
        if (!res.ok) process.stderr.write(`notification to ${new URL(url).host} failed: HTTP ${res.status}\n`)
      } catch (err) {
        process.stderr.write(`notification to ${new URL(url).host} failed: ${(err as Error).message}\n`)
      }
    }),
  )
}
