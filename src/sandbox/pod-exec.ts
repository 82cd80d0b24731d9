import type { ChildProcess } from 'node:child_process'
import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import { queryBool } from './apiserver/params.js'
import { channelPortForward, forwardPorts, portForwardSession } from './pod-portforward.js'

/** What `kubectl exec` asks for, from the query of `/api/v1/namespaces/{ns}/pods/{name}/exec`. */
export interface ExecRequest {
  namespace: string
  pod: string
  container?: string
  command: string[]
  stdin: boolean
  tty: boolean
}

/** Runs a command in a running container: its process, or why not (shown as the exec's error). */
export type PodExec = (r: ExecRequest) => ChildProcess | { error: string }

const PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io']
const SPDY_TUNNEL = 'SPDY/3.1+portforward.k8s.io'
/** The plain WebSocket port-forward subprotocols (binary, then base64 text frames). */
const PF_PROTOCOLS = [
  'v4.channel.k8s.io',
  'channel.k8s.io',
  'v4.base64.channel.k8s.io',
  'base64.channel.k8s.io',
]
const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const

/**
 * The exec request a URL names, or undefined when it is no exec URL.
 *
 *   execRequest(new URL('https://x/api/v1/namespaces/d/pods/p/exec?command=sh&command=-c&command=id&stdin=true&tty=true&container=c'))
 *     → { namespace: 'd', pod: 'p', container: 'c', command: ['sh', '-c', 'id'], stdin: true, tty: true }
 */
export function execRequest(url: URL): ExecRequest | undefined {
  const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(url.pathname)
  if (!m) return undefined
  const q = url.searchParams
  return {
    namespace: decodeURIComponent(m[1]),
    pod: decodeURIComponent(m[2]),
    container: q.get('container') ?? undefined,
    command: q.getAll('command'),
    // apimachinery's booleans: the Python client sends stdin=True
    stdin: queryBool(q, 'stdin'),
    tty: queryBool(q, 'tty'),
  }
}

/**
 * The Status kubectl reads from the error channel when the command ends: Success, or
 * NonZeroExitCode carrying the code (kubectl exits with it).
 *
 *   exitStatus(0) → { metadata: {}, status: 'Success' }
 *   exitStatus(3).details → { causes: [{ reason: 'ExitCode', message: '3' }] }
 */
export function exitStatus(code: number): Record<string, unknown> {
  if (code === 0) return { metadata: {}, status: 'Success' }
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: exit status ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  }
}

/**
 * The terminal size of a resize-channel message (`{"Width":80,"Height":24}`, as
 * remotecommand's TerminalSize), or undefined when it is none.
 *
 *   terminalSize(Buffer.from('{"Width":120,"Height":40}')) → { width: 120, height: 40 }
 *   terminalSize(Buffer.from('{"Width":-1}')) → undefined
 */
export function terminalSize(b: Buffer): { width: number; height: number } | undefined {
  if (b.length > 256) return undefined
  try {
    const j = JSON.parse(b.toString()) as { Width?: unknown; Height?: unknown }
    const ok = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0 && (n as number) < 65536
    return ok(j.Width) && ok(j.Height) ? { width: j.Width, height: j.Height } : undefined
  } catch {
    return undefined
  }
}

/**
 * Serves `kubectl exec` over WebSocket (the `v5.channel.k8s.io` and `v4.channel.k8s.io`
 * subprotocols kube-apiserver speaks; kubectl ≥ 1.30 uses them first): each binary message
 * starts with its channel byte (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize, 255 close);
 * a resize message sets the window size of a TTY exec's pseudo-terminal.
 * `kubectl port-forward` is SPDY/3.1 tunnelled through a WebSocket (pod-portforward.ts);
 * other WebSocket clients get the plain channel protocol (`v4.channel.k8s.io`, data channel 2i
 * and error channel 2i+1 per port). Other upgrades (plain SPDY) are answered 400 so clients
 * say so. Authentication is the API
 * server's.
 */
export function serveExec(
  server: Server,
  o: {
    authorized: (req: IncomingMessage) => boolean
    exec?: PodExec
    /** Where a pod's port is reached from the host (the pod runtime's proxyTarget). */
    portTarget?: (namespace: string, pod: string, port?: string) => { host: string; port: number } | undefined
  },
): void {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 1024 * 1024,
    handleProtocols: (offered) => PROTOCOLS.find((p) => offered.has(p)) ?? false,
  })
  const tunnel = new WebSocketServer({
    noServer: true,
    maxPayload: 16 * 1024 * 1024,
  })
  // ws refuses the '/' in this subprotocol (not an RFC 7230 token): it is checked here, taken
  // off the request, and put back on the answer
  tunnel.on('headers', (headers) => headers.push(`Sec-WebSocket-Protocol: ${SPDY_TUNNEL}`))
  const channels = new WebSocketServer({
    noServer: true,
    maxPayload: 16 * 1024 * 1024,
    handleProtocols: (offered) => PF_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  })
  // the plain protocol (the Python client): channel 2i carries port i's bytes, 2i+1 its errors
  const channelForward = (req: IncomingMessage, socket: Duplex, head: Buffer, ns: string, pod: string) => {
    const ports = forwardPorts(new URL(req.url ?? '/', 'https://sandbox').searchParams)
    if ('error' in ports) {
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${ports.error}\n`,
      )
      return
    }
    channels.handleUpgrade(req, socket, head, (ws) => {
      const base64 = ws.protocol.includes('base64')
      let session: ReturnType<typeof channelPortForward> | undefined
      // Each message leaves in a TLS record of its own, the next once the last is written: a
      // client that reads one frame per select() (Debian's python3-kubernetes 22.6) never sees
      // a second frame that arrived in the same record until more data comes.
      const queue: (Buffer | string)[] = []
      let busy = false
      let closing = false
      const pump = () => {
        if (busy || ws.readyState !== ws.OPEN) return
        const m = queue.shift()
        if (m === undefined) {
          if (closing) ws.close(1000)
          return
        }
        busy = true
        ws.send(m, () => {
          busy = false
          pump()
        })
      }
      // the first frames go out after the 101 answer has left on its own, for the same reason
      setImmediate(() => {
        if (ws.readyState !== ws.OPEN) return
        session = channelPortForward({
          ports,
          send: (channel, data) => {
            if (base64) queue.push(`${String.fromCharCode(48 + channel)}${data.toString('base64')}`)
            else queue.push(Buffer.concat([Buffer.from([channel]), data]))
            pump()
          },
          dial: (port) => o.portTarget?.(ns, pod, String(port)),
          close: () => {
            closing = true
            pump()
          },
        })
      })
      ws.on('message', (d: Buffer, isBinary: boolean) => {
        const b = Buffer.from(d)
        if (b.length === 0) return
        if (isBinary) session?.receive(b[0], b.subarray(1))
        else session?.receive(b[0] - 48, Buffer.from(b.subarray(1).toString(), 'base64'))
      })
      ws.on('close', () => session?.end())
      ws.on('error', () => session?.end())
    })
  }
  // kubectl port-forward: SPDY/3.1 tunnelled through a WebSocket (kubectl ≥ 1.31's default);
  // other WebSocket clients: the plain channel protocol
  const portForward = (req: IncomingMessage, socket: Duplex, head: Buffer, ns: string, pod: string) => {
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim())
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      socket.end(
        'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nthe sandbox serves port-forward over WebSocket only (SPDY/3.1 tunnelled, or portforward.k8s.io channels)\n',
      )
      return
    }
    if (!offered.includes(SPDY_TUNNEL)) return channelForward(req, socket, head, ns, pod)
    delete req.headers['sec-websocket-protocol']
    tunnel.handleUpgrade(req, socket, head, (ws) => {
      const session = portForwardSession({
        send: (b) => {
          if (ws.readyState === ws.OPEN) ws.send(b)
        },
        dial: (port) => o.portTarget?.(ns, pod, String(port)),
        close: () => ws.close(1000),
      })
      ws.on('message', (d: Buffer) => session.receive(Buffer.from(d)))
      ws.on('close', () => session.end())
      ws.on('error', () => session.end())
    })
  }
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (code: number, text: string) => {
      socket.end(`HTTP/1.1 ${code} ${text}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${text}\n`)
    }
    socket.on('error', () => socket.destroy())
    if (!o.authorized(req)) return refuse(401, 'Unauthorized')
    const pf = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/portforward$/.exec(
      new URL(req.url ?? '/', 'https://sandbox').pathname,
    )
    if (pf) return portForward(req, socket, head, decodeURIComponent(pf[1]), decodeURIComponent(pf[2]))
    const r = execRequest(new URL(req.url ?? '/', 'https://sandbox'))
    if (!r || !o.exec || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
      return refuse(400, 'Bad Request: the sandbox serves exec over WebSocket (v5.channel.k8s.io) only')
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim())
    if (!PROTOCOLS.some((p) => offered.includes(p)))
      return refuse(400, 'Bad Request: no supported subprotocol')
    const exec = o.exec
    wss.handleUpgrade(req, socket, head, (ws) => {
      const send = (channel: number, data: Buffer | string) => {
        if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]))
      }
      const finish = (status: Record<string, unknown>) => {
        send(CHANNEL.error, JSON.stringify(status))
        ws.close(1000)
      }
      if (r.command.length === 0)
        return finish({
          metadata: {},
          status: 'Failure',
          message: 'you must specify at least one command for the container',
          reason: 'BadRequest',
          code: 400,
        })
      const child = exec(r)
      if ('error' in child)
        return finish({
          metadata: {},
          status: 'Failure',
          message: child.error,
          reason: 'InternalError',
          code: 500,
        })
      child.stdout?.on('data', (d: Buffer) => send(CHANNEL.stdout, d))
      child.stderr?.on('data', (d: Buffer) => send(CHANNEL.stderr, d))
      child.stdin?.on('error', () => undefined)
      child.stdio[3]?.on('error', () => undefined)
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        const b = isBinary ? data : Buffer.from(data)
        if (b.length === 0) return
        if (b[0] === CHANNEL.stdin) child.stdin?.write(b.subarray(1))
        else if (b[0] === CHANNEL.close && b[1] === CHANNEL.stdin) child.stdin?.end()
        else if (b[0] === CHANNEL.resize && r.tty) {
          const size = terminalSize(b.subarray(1))
          const sizes = child.stdio[3]
          if (size && sizes && 'write' in sizes) sizes.write(`${size.width} ${size.height}\n`)
        }
      })
      ws.on('close', () => {
        if (child.exitCode === null) child.kill('SIGKILL')
      })
      ws.on('error', () => undefined)
      child.on('error', (e) =>
        finish({ metadata: {}, status: 'Failure', message: e.message, reason: 'InternalError', code: 500 }),
      )
      child.on('close', (code, signal) => finish(exitStatus(code ?? (signal === 'SIGKILL' ? 137 : 1))))
      if (!r.stdin) child.stdin?.end()
    })
  })
}
