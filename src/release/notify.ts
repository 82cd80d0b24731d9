import type { Notifier, ReleaseEvent } from '../ports.js'

export type { ReleaseEvent }
export type WebhookKind = 'slack' | 'teams' | 'discord' | 'json'

/**
 * The webhook flavour of a URL, by host.
 *
 *   webhookKind('https://hooks.slack.com/services/T/B/X') → 'slack'
 *   webhookKind('https://discord.com/api/webhooks/1/abc') → 'discord'
 *   webhookKind('https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke') → 'teams'
 *   webhookKind('http://127.0.0.1:9000/hook') → 'json'
 */
export function webhookKind(url: string): WebhookKind {
  const host = new URL(url).hostname
  if (host === 'hooks.slack.com') return 'slack'
  if (host.endsWith('webhook.office.com') || host === 'outlook.office.com') return 'teams'
  // Teams Workflows (Power Automate) webhooks, which replace the retired Office 365 connectors
  if (host.endsWith('.logic.azure.com') && url.includes('/workflows/')) return 'teams'
  if (host.endsWith('.api.powerplatform.com') && url.includes('/workflows/')) return 'teams'
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

/** The colour of a phase in an Adaptive Card: failures red, success green, the rest plain. */
function cardColor(phase: string): 'Attention' | 'Warning' | 'Good' | 'Default' {
  if (/RolledBack|RollingBack|Aborted/.test(phase)) return 'Attention'
  if (phase === 'Interrupted') return 'Warning'
  if (phase === 'Succeeded') return 'Good'
  return 'Default'
}

/**
 * The body a Teams Workflows webhook ("Post to a channel when a webhook request is received")
 * takes: a message with one Adaptive Card 1.4 attachment (Office 365 connector MessageCards
 * are retired). The card has the title, the event line, and the facts that are known.
 *
 *   teamsMessage({ app: 'kubeapp', namespace: 'production', version: '2.0', phase: 'Succeeded', at: 'T' })
 *   → { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive',
 *       contentUrl: null, content: { type: 'AdaptiveCard', version: '1.4', body: [
 *         { type: 'TextBlock', text: 'kubeapp 2.0: Succeeded', color: 'Good', … },
 *         { type: 'TextBlock', text: 'kubeapp 2.0 Succeeded [production]', wrap: true },
 *         { type: 'FactSet', facts: [{ title: 'App', value: 'kubeapp' }, …] }] } }] }
 */
export function teamsMessage(e: ReleaseEvent): unknown {
  const facts: [string, string | undefined][] = [
    ['App', e.app],
    ['Namespace', e.namespace],
    ['Version', e.version],
    ['Previous version', e.previousVersion],
    ['Phase', e.phase],
    [
      'Step',
      e.stable !== undefined && e.canary !== undefined
        ? `${e.step}: ${e.stable}:${e.canary} (${e.weight}%)`
        : undefined,
    ],
    ['Reason', e.reason],
    ['At', e.at],
  ]
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            {
              type: 'TextBlock',
              text: `${e.app} ${e.version}: ${e.phase}`,
              size: 'Medium',
              weight: 'Bolder',
              color: cardColor(e.phase),
              wrap: true,
            },
            { type: 'TextBlock', text: eventLine(e), wrap: true },
            {
              type: 'FactSet',
              facts: facts.flatMap(([title, value]) => (value === undefined ? [] : [{ title, value }])),
            },
          ],
          msteams: { width: 'Full' },
        },
      },
    ],
  }
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
      return teamsMessage(e)
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

/** The production Notifier: posts to each webhook (notify). */
export const webhookNotifier: Notifier = { notify: (urls, e) => notify(urls, e) }
