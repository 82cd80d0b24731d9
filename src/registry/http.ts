// The registry client's HTTP: node:http and node:https with kept-alive connections. fetch()
// would do, but Node loads its implementation (undici, with a WebAssembly HTTP parser) at the
// first call: ~20 ms of one core on every `build` and `release`, before the first byte is sent.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'

/** The part of fetch's Response the registry client reads; the body is read in full. */
export interface HttpResponse {
  status: number
  headers: { get(name: string): string | null }
  arrayBuffer(): Promise<ArrayBuffer>
  text(): Promise<string>
  json(): Promise<unknown>
}

export interface HttpRequest {
  method?: string
  headers?: Record<string, string>
  body?: Buffer
  signal?: AbortSignal
  /** For https: an agent with the registry's own TLS settings (CA, client certificate). */
  httpsAgent?: HttpsAgent
}

// free sockets are unref'd by Node's Agent, so they never keep a command running
const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) }
const REDIRECTS = new Set([301, 302, 303, 307, 308])

/**
 * One request, following redirects as fetch does: at most 20; a 303 (or a 301/302 answering a
 * POST) becomes a GET without body; Authorization is not sent to another origin (a blob store
 * behind a registry's redirect rejects credentials it did not issue). A connection error
 * rejects with the error as `cause`, as fetch's does.
 */
export async function httpFetch(url: string | URL, init: HttpRequest = {}): Promise<HttpResponse> {
  let target = new URL(url)
  let method = init.method ?? 'GET'
  let body = init.body
  let headers = { ...init.headers }
  for (let hop = 0; ; hop++) {
    const { message, response } = await once(target, method, headers, body, init.signal, init.httpsAgent)
    const status = response.status
    const location = message.headers.location
    if (!REDIRECTS.has(status) || !location || hop >= 20) return response
    const next = new URL(location, target)
    if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET'
      body = undefined
      headers = Object.fromEntries(
        Object.entries(headers).filter(([k]) => !/^content-(type|length)$/i.test(k)),
      )
    }
    if (next.origin !== target.origin)
      headers = Object.fromEntries(
        Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'),
      )
    target = next
  }
}

function once(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  signal: AbortSignal | undefined,
  httpsAgent: HttpsAgent | undefined,
): Promise<{ message: IncomingMessage; response: HttpResponse }> {
  const https = url.protocol === 'https:'
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(
      url,
      {
        method,
        // a length always, as fetch sends it (Node would frame a body-less POST as chunked)
        headers:
          body === undefined && (method === 'GET' || method === 'HEAD')
            ? headers
            : { ...headers, 'content-length': String(body?.length ?? 0) },
        agent: https ? (httpsAgent ?? agents.https) : agents.http,
        signal,
      },
      (message) => {
        const chunks: Buffer[] = []
        message.on('data', (c: Buffer) => chunks.push(c))
        message.on('error', (err) => reject(Object.assign(new TypeError('fetch failed'), { cause: err })))
        message.on('end', () => {
          const bytes = Buffer.concat(chunks)
          resolve({
            message,
            response: {
              status: message.statusCode ?? 0,
              headers: {
                get(name) {
                  const v = message.headers[name.toLowerCase()]
                  return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v)
                },
              },
              arrayBuffer: async () =>
                bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
              text: async () => bytes.toString('utf8'),
              json: async () => JSON.parse(bytes.toString('utf8')),
            },
          })
        })
      },
    )
    req.on('error', (err) =>
      reject(signal?.aborted ? err : Object.assign(new TypeError('fetch failed'), { cause: err })),
    )
    req.end(body)
  })
}
