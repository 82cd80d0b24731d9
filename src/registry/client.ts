import { Agent as HttpsAgent } from 'node:https'
import { UnreachableError, UsageError } from '../errors.js'
import { type Credentials, parseChallenge } from './auth.js'
import { type HttpResponse, httpFetch } from './http.js'
import { isLoopbackRegistry } from './reference.js'

export interface RegistryClientOptions {
  registry: string
  repository: string
  credentials?: Credentials
  /** Allow plain HTTP for a non-loopback registry. */
  insecure?: boolean
  retries?: number
  signal?: AbortSignal
  /** Force the scheme (a registries.yaml endpoint says it); default: http only for loopback or insecure. */
  scheme?: 'http' | 'https'
  /** TLS settings for this registry (registries.yaml configs.<host>.tls), PEM contents. */
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean }
}

const ACCEPT_MANIFESTS = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ')

/**
 * A small OCI distribution client for one repository: blobs, manifests, and the auth dance
 * (anonymous → Basic or Bearer token on 401). Retries 5xx and connection errors with back-off.
 */
export class RegistryClient {
  private readonly base: string
  private token?: string
  private tokenScope?: string
  private basic = false
  private readonly httpsAgent?: HttpsAgent
  constructor(private readonly o: RegistryClientOptions) {
    const http = o.scheme ? o.scheme === 'http' : isLoopbackRegistry(o.registry) || o.insecure
    this.base = `${http ? 'http' : 'https'}://${o.registry}/v2/${o.repository}`
    if (o.tls) this.httpsAgent = new HttpsAgent({ keepAlive: true, ...o.tls })
  }

  async hasBlob(digest: string): Promise<boolean> {
    const r = await this.request('HEAD', `/blobs/${digest}`, { scope: 'pull' })
    if (r.status === 200) return true
    if (r.status === 404) return false
    throw await this.failure(r, `HEAD blob ${digest}`)
  }

  /** Monolithic upload: POST for a location, then PUT with the digest. */
  async uploadBlob(digest: string, bytes: Buffer): Promise<void> {
    const start = await this.request('POST', '/blobs/uploads/', { scope: 'push' })
    if (start.status !== 202) throw await this.failure(start, 'start blob upload')
    const loc = start.headers.get('location')
    if (!loc) throw new Error('registry gave no upload location')
    const url = new URL(loc, this.base)
    url.searchParams.set('digest', digest)
    const put = await this.request('PUT', url.toString(), {
      scope: 'push',
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    })
    if (put.status !== 201) throw await this.failure(put, `upload blob ${digest}`)
  }

  async putManifest(reference: string, mediaType: string, bytes: Buffer): Promise<string | undefined> {
    const r = await this.request('PUT', `/manifests/${reference}`, {
      scope: 'push',
      body: bytes,
      headers: { 'content-type': mediaType },
    })
    if (r.status !== 201 && r.status !== 200) throw await this.failure(r, `put manifest ${reference}`)
    return r.headers.get('docker-content-digest') ?? undefined
  }

  /** GET a manifest or index; undefined when the registry says it is unknown. */
  async getManifest(
    reference: string,
  ): Promise<{ mediaType: string; bytes: Buffer; digest?: string } | undefined> {
    const r = await this.request('GET', `/manifests/${reference}`, {
      scope: 'pull',
      headers: { accept: ACCEPT_MANIFESTS },
    })
    if (r.status === 404) return undefined
    if (r.status !== 200) throw await this.failure(r, `get manifest ${reference}`)
    const bytes = Buffer.from(await r.arrayBuffer())
    return {
      mediaType: (r.headers.get('content-type') ?? '').split(';')[0],
      bytes,
      digest: r.headers.get('docker-content-digest') ?? undefined,
    }
  }

  /** HEAD a manifest: its digest, or undefined when absent. */
  async headManifest(reference: string): Promise<string | undefined> {
    const r = await this.request('HEAD', `/manifests/${reference}`, {
      scope: 'pull',
      headers: { accept: ACCEPT_MANIFESTS },
    })
    if (r.status === 404) return undefined
    if (r.status !== 200) throw await this.failure(r, `head manifest ${reference}`)
    return r.headers.get('docker-content-digest') ?? reference
  }

  async getBlob(digest: string): Promise<Buffer> {
    const r = await this.request('GET', `/blobs/${digest}`, { scope: 'pull' })
    if (r.status !== 200) throw await this.failure(r, `get blob ${digest}`)
    return Buffer.from(await r.arrayBuffer())
  }

  private async request(
    method: string,
    pathOrUrl: string,
    opts: { scope: 'pull' | 'push'; body?: Buffer; headers?: Record<string, string> },
  ): Promise<HttpResponse> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${this.base}${pathOrUrl}`
    const retries = this.o.retries ?? 4
    for (let attempt = 0; ; attempt++) {
      let res: HttpResponse
      const sent = this.authHeader().authorization
      try {
        res = await httpFetch(url, {
          method,
          headers: { ...opts.headers, ...this.authHeader() },
          body: opts.body,
          signal: this.o.signal,
          httpsAgent: this.httpsAgent,
        })
      } catch (err) {
        if (this.o.signal?.aborted) throw err
        if (attempt < retries) {
          await backoff(attempt)
          continue
        }
        throw new UnreachableError(`registry ${this.o.registry} is unreachable: ${causeOf(err)}`, {
          hint: 'check the address and that the registry runs (edgecanary sandbox status shows the sandbox registry)',
        })
      }
      // requests run side by side (blob checks): one that went out before another one's
      // authentication finished just retries with the credentials that now exist
      if (
        res.status === 401 &&
        (this.authHeader().authorization !== sent || (await this.authenticate(res, opts.scope)))
      ) {
        await res.arrayBuffer().catch(() => undefined)
        // a fresh auth header is used on the next round; this does not count as a retry
        res = await httpFetch(url, {
          method,
          headers: { ...opts.headers, ...this.authHeader() },
          body: opts.body,
          signal: this.o.signal,
          httpsAgent: this.httpsAgent,
        })
      }
      if (res.status >= 500 && attempt < retries) {
        await res.arrayBuffer().catch(() => undefined)
        await backoff(attempt)
        continue
      }
      return res
    }
  }

  private authHeader(): Record<string, string> {
    if (this.token) return { authorization: `Bearer ${this.token}` }
    if (this.basic && this.o.credentials) {
      const b = Buffer.from(`${this.o.credentials.username}:${this.o.credentials.password}`).toString(
        'base64',
      )
      return { authorization: `Basic ${b}` }
    }
    return {}
  }

  /** Handles a 401: Basic with credentials, or the Bearer token flow. False when nothing can be tried. */
  private async authenticate(res: HttpResponse, scope: 'pull' | 'push'): Promise<boolean> {
    const ch = parseChallenge(res.headers.get('www-authenticate') ?? '')
    if (!ch) return false
    if (ch.scheme === 'basic') {
      if (!this.o.credentials || this.o.credentials.identityToken || this.basic) return false
      this.basic = true
      return true
    }
    // a token is scoped: a pull token answers a push with another 401 naming the wider scope
    const wanted = ch.scope ?? `repository:${this.o.repository}:${scope === 'push' ? 'pull,push' : 'pull'}`
    if (this.token && this.tokenScope === wanted) return false
    const url = new URL(ch.realm)
    const identityToken = this.o.credentials?.identityToken
    let t: HttpResponse
    if (identityToken) {
      // docker's OAuth2 way with an identity token: a refresh_token grant POSTed to the realm
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: identityToken,
        service: ch.service ?? '',
        scope: wanted,
        client_id: 'edgecanary',
      })
      t = await httpFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form.toString()),
        signal: this.o.signal,
      })
    } else {
      if (ch.service) url.searchParams.set('service', ch.service)
      url.searchParams.set('scope', wanted)
      const headers: Record<string, string> = {}
      if (this.o.credentials) {
        headers.authorization = `Basic ${Buffer.from(`${this.o.credentials.username}:${this.o.credentials.password}`).toString('base64')}`
      }
      t = await httpFetch(url, { headers, signal: this.o.signal })
    }
    if (t.status !== 200) return false
    const body = (await t.json()) as { token?: string; access_token?: string }
    this.token = body.token ?? body.access_token
    this.tokenScope = wanted
    return Boolean(this.token)
  }

  private async failure(res: HttpResponse, what: string): Promise<Error> {
    const text = await res.text().catch(() => '')
    let detail = text.slice(0, 200)
    try {
      const j = JSON.parse(text) as { errors?: { code?: string; message?: string }[] }
      if (j.errors?.[0]) detail = `${j.errors[0].code ?? ''} ${j.errors[0].message ?? ''}`.trim()
    } catch {}
    if (res.status === 401 || res.status === 403) {
      return new UsageError(
        `registry ${this.o.registry} refused the credentials (${res.status}) for ${what}`,
        {
          hint: 'check --username/--password-stdin or the registry entry in ~/.docker/config.json',
        },
      )
    }
    return new UsageError(
      `registry ${this.o.registry}: ${what} failed with HTTP ${res.status}${detail ? `: ${detail}` : ''}`,
      {
        hint: 'check the registry address and its logs',
      },
    )
  }
}

function backoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)))
}

function causeOf(err: unknown): string {
  const c = (err as { cause?: { code?: string; message?: string } }).cause
  return c?.code ?? c?.message ?? (err instanceof Error ? err.message : String(err))
}
