import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { notify, type ReleaseEvent, teamsMessage, type WebhookKind, webhookKind } from './notify.js'

const rolledBack: ReleaseEvent = {
  app: 'kubeapp',
  namespace: 'production',
  version: '2.0',
  previousVersion: '1.0',
  phase: 'RolledBack',
  step: 1,
  weight: 25,
  stable: 3,
  canary: 1,
  reason: 'canary answered HTTP 500',
  at: '2026-01-01T00:00:00.000Z',
}
const line = 'kubeapp 2.0 RolledBack — step 1: 3:1 (25%) — canary answered HTTP 500 [production]'

describe('webhookKind', () => {
  it.each([
    ['https://hooks.slack.com/services/T/B/X', 'slack'],
    ['https://discord.com/api/webhooks/1/abc', 'discord'],
    ['https://acme.webhook.office.com/webhookb2/x/IncomingWebhook/y/z', 'teams'],
    [
      'https://prod-12.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=x',
      'teams',
    ],
    [
      'https://default1234.56.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke',
      'teams',
    ],
    ['https://prod-12.westeurope.logic.azure.com/other', 'json'],
    ['http://127.0.0.1:9000/hook', 'json'],
  ])('%s → %s', (url, kind) => {
    expect(webhookKind(url)).toBe(kind)
  })
})

describe('teamsMessage: an Adaptive Card 1.4 for Teams Workflows', () => {
  it.each([
    ['RolledBack', 'Attention'],
    ['Aborted', 'Attention'],
    ['Interrupted', 'Warning'],
    ['Succeeded', 'Good'],
    ['Progressing', 'Default'],
  ])('%s is coloured %s', (phase, color) => {
    const card = teamsMessage({ ...rolledBack, phase }) as {
      attachments: { content: { body: { color?: string }[] } }[]
    }
    expect(card.attachments[0].content.body[0].color).toBe(color)
  })

  it('leaves out the facts an event does not have', () => {
    const card = teamsMessage({ app: 'a', namespace: 'n', version: '1', phase: 'Initialized', at: 'T' }) as {
      attachments: { content: { body: { facts?: { title: string }[] }[] } }[]
    }
    expect(card.attachments[0].content.body[2].facts?.map((f) => f.title)).toEqual([
      'App',
      'Namespace',
      'Version',
      'Phase',
      'At',
    ])
  })
})

describe('notify posts each flavour to a real HTTP server', () => {
  let server: Server
  let url: string
  const received: { path: string; type: string; body: unknown }[] = []
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => {
        body += c.toString()
      })
      req.on('end', () => {
        received.push({
          path: req.url ?? '',
          type: req.headers['content-type'] ?? '',
          body: JSON.parse(body),
        })
        // Workflows answers 202 Accepted
        res.statusCode = req.url === '/teams' ? 202 : 200
        res.end()
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  })
  afterAll(() => {
    server.close()
  })

  it('Teams gets a message with an Adaptive Card attachment; Slack, Discord and generic JSON keep theirs', async () => {
    for (const kind of ['teams', 'slack', 'discord', 'json'] as WebhookKind[])
      await notify([`${url}/${kind}`], rolledBack, { kind })
    expect(received.map((r) => [r.path, r.type])).toEqual([
      ['/teams', 'application/json'],
      ['/slack', 'application/json'],
      ['/discord', 'application/json'],
      ['/json', 'application/json'],
    ])
    expect(received[0].body).toEqual({
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
                text: 'kubeapp 2.0: RolledBack',
                size: 'Medium',
                weight: 'Bolder',
                color: 'Attention',
                wrap: true,
              },
              { type: 'TextBlock', text: line, wrap: true },
              {
                type: 'FactSet',
                facts: [
                  { title: 'App', value: 'kubeapp' },
                  { title: 'Namespace', value: 'production' },
                  { title: 'Version', value: '2.0' },
                  { title: 'Previous version', value: '1.0' },
                  { title: 'Phase', value: 'RolledBack' },
                  { title: 'Step', value: '1: 3:1 (25%)' },
                  { title: 'Reason', value: 'canary answered HTTP 500' },
                  { title: 'At', value: '2026-01-01T00:00:00.000Z' },
                ],
              },
            ],
            msteams: { width: 'Full' },
          },
        },
      ],
    })
    expect(JSON.stringify(received[0].body)).not.toContain('MessageCard')
    expect(received[1].body).toEqual({ text: line })
    expect(received[2].body).toMatchObject({ content: line, embeds: [{ title: 'kubeapp 2.0: RolledBack' }] })
    expect(received[3].body).toEqual({ event: 'edgecanary.release', ...rolledBack })
  })
})
