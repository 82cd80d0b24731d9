import { connect } from 'node:net'
import { inflateSync, constants as zc } from 'node:zlib'

/**
 * The SPDY/3 header-compression dictionary (SPDY draft 3, §2.6.10.1): zlib is primed with it
 * in both directions, and its Adler-32 is the zlib header's DICTID.
 */
const DICTIONARY = Buffer.from(
  'AAAAB29wdGlvbnMAAAAEaGVhZAAAAARwb3N0AAAAA3B1dAAAAAZkZWxldGUAAAAFdHJhY2UAAAAGYWNjZXB0AAAADmFjY2VwdC1jaGFyc2V0AAAAD2FjY2VwdC1lbmNvZGluZwAAAA9hY2NlcHQtbGFuZ3VhZ2UAAAANYWNjZXB0LXJhbmdlcwAAAANhZ2UAAAAFYWxsb3cAAAANYXV0aG9yaXphdGlvbgAAAA1jYWNoZS1jb250cm9sAAAACmNvbm5lY3Rpb24AAAAMY29udGVudC1iYXNlAAAAEGNvbnRlbnQtZW5jb2RpbmcAAAAQY29udGVudC1sYW5ndWFnZQAAAA5jb250ZW50LWxlbmd0aAAAABBjb250ZW50LWxvY2F0aW9uAAAAC2NvbnRlbnQtbWQ1AAAADWNvbnRlbnQtcmFuZ2UAAAAMY29udGVudC10eXBlAAAABGRhdGUAAAAEZXRhZwAAAAZleHBlY3QAAAAHZXhwaXJlcwAAAARmcm9tAAAABGhvc3QAAAAIaWYtbWF0Y2gAAAARaWYtbW9kaWZpZWQtc2luY2UAAAANaWYtbm9uZS1tYXRjaAAAAAhpZi1yYW5nZQAAABNpZi11bm1vZGlmaWVkLXNpbmNlAAAADWxhc3QtbW9kaWZpZWQAAAAIbG9jYXRpb24AAAAMbWF4LWZvcndhcmRzAAAABnByYWdtYQAAABJwcm94eS1hdXRoZW50aWNhdGUAAAATcHJveHktYXV0aG9yaXphdGlvbgAAAAVyYW5nZQAAAAdyZWZlcmVyAAAAC3JldHJ5LWFmdGVyAAAABnNlcnZlcgAAAAJ0ZQAAAAd0cmFpbGVyAAAAEXRyYW5zZmVyLWVuY29kaW5nAAAAB3VwZ3JhZGUAAAAKdXNlci1hZ2VudAAAAAR2YXJ5AAAAA3ZpYQAAAAd3YXJuaW5nAAAAEHd3dy1hdXRoZW50aWNhdGUAAAAGbWV0aG9kAAAAA2dldAAAAAZzdGF0dXMAAAAGMjAwIE9LAAAAB3ZlcnNpb24AAAAISFRUUC8xLjEAAAADdXJsAAAABnB1YmxpYwAAAApzZXQtY29va2llAAAACmtlZXAtYWxpdmUAAAAGb3JpZ2luMTAwMTAxMjAxMjAyMjA1MjA2MzAwMzAyMzAzMzA0MzA1MzA2MzA3NDAyNDA1NDA2NDA3NDA4NDA5NDEwNDExNDEyNDEzNDE0NDE1NDE2NDE3NTAyNTA0NTA1MjAzIE5vbi1BdXRob3JpdGF0aXZlIEluZm9ybWF0aW9uMjA0IE5vIENvbnRlbnQzMDEgTW92ZWQgUGVybWFuZW50bHk0MDAgQmFkIFJlcXVlc3Q0MDEgVW5hdXRob3JpemVkNDAzIEZvcmJpZGRlbjQwNCBOb3QgRm91bmQ1MDAgSW50ZXJuYWwgU2VydmVyIEVycm9yNTAxIE5vdCBJbXBsZW1lbnRlZDUwMyBTZXJ2aWNlIFVuYXZhaWxhYmxlSmFuIEZlYiBNYXIgQXByIE1heSBKdW4gSnVsIEF1ZyBTZXB0IE9jdCBOb3YgRGVjIDAwOjAwOjAwIE1vbiwgVHVlLCBXZWQsIFRodSwgRnJpLCBTYXQsIFN1biwgR01UY2h1bmtlZCx0ZXh0L2h0bWwsaW1hZ2UvcG5nLGltYWdlL2pwZyxpbWFnZS9naWYsYXBwbGljYXRpb24veG1sLGFwcGxpY2F0aW9uL3hodG1sK3htbCx0ZXh0L3BsYWluLHRleHQvamF2YXNjcmlwdCxwdWJsaWNwcml2YXRlbWF4LWFnZT1nemlwLGRlZmxhdGUsc2RjaGNoYXJzZXQ9dXRmLThjaGFyc2V0PWlzby04ODU5LTEsdXRmLSwqLGVucT0wLg==',
  'base64',
)

/** Adler-32, as zlib computes it. adler32(Buffer.from('Wikipedia')) → 0x11e60398 */
export function adler32(b: Buffer): number {
  let a = 1
  let s = 0
  for (const byte of b) {
    a = (a + byte) % 65521
    s = (s + a) % 65521
  }
  return ((s << 16) | a) >>> 0
}

/** A SPDY header block: count, then length-prefixed names and values (all 32-bit lengths). */
export function encodeHeaders(h: Record<string, string>): Buffer {
  const parts: Buffer[] = []
  const u32 = (n: number) => {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(n)
    return b
  }
  const entries = Object.entries(h)
  parts.push(u32(entries.length))
  for (const [k, v] of entries) {
    for (const s of [k.toLowerCase(), v]) {
      const b = Buffer.from(s)
      parts.push(u32(b.length), b)
    }
  }
  return Buffer.concat(parts)
}

/** decodeHeaders(encodeHeaders({ port: '80' })) → { port: '80' } */
export function decodeHeaders(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {}
  let off = 4
  const n = b.readUInt32BE(0)
  for (let i = 0; i < n && i < 100; i++) {
    const kl = b.readUInt32BE(off)
    const k = b.subarray(off + 4, off + 4 + kl).toString()
    off += 4 + kl
    const vl = b.readUInt32BE(off)
    out[k] = b.subarray(off + 4, off + 4 + vl).toString()
    off += 4 + vl
  }
  return out
}

interface PfStream {
  id: number
  headers: Record<string, string>
  onData?: (d: Buffer) => void
  onEnd?: () => void
}

/**
 * A minimal SPDY/3.1 server side of `kubectl port-forward`'s protocol (portforward.k8s.io),
 * fed the bytes of a WebSocket tunnel (`SPDY/3.1+portforward.k8s.io`, as kubectl ≥ 1.31
 * speaks it): every stream is answered; a `data` stream is connected to `dial(port)` and
 * copied both ways, its `error` twin (same `requestID`) carries a failure. Header blocks the
 * server sends are zlib stored blocks (valid deflate, no compression needed).
 */
export function portForwardSession(o: {
  send: (b: Buffer) => void
  dial: (port: number) => { host: string; port: number } | undefined
  close: () => void
}): { receive: (b: Buffer) => void; end: () => void } {
  let pending = Buffer.alloc(0)
  let inflated = 0
  let compressedIn = Buffer.alloc(0)
  let headerStarted = false
  const streams = new Map<number, PfStream>()
  const errorStreams = new Map<string, number>()
  const sockets = new Set<import('node:net').Socket>()

  const control = (type: number, flags: number, body: Buffer) => {
    const h = Buffer.alloc(8)
    h.writeUInt16BE(0x8003, 0)
    h.writeUInt16BE(type, 2)
    h.writeUInt32BE(((flags & 0xff) << 24) | body.length, 4)
    o.send(Buffer.concat([h, body]))
  }
  const data = (id: number, flags: number, body: Buffer) => {
    for (let off = 0; off === 0 || off < body.length; off += 0xffffff) {
      const chunk = body.subarray(off, off + 0xffffff)
      const h = Buffer.alloc(8)
      h.writeUInt32BE(id & 0x7fffffff, 0)
      const last = off + chunk.length >= body.length
      h.writeUInt32BE((((last ? flags : 0) & 0xff) << 24) | chunk.length, 4)
      o.send(Buffer.concat([h, chunk]))
      if (body.length === 0) break
    }
  }
  // server → client header blocks: one zlib stream of stored (uncompressed) blocks
  const deflateStored = (raw: Buffer) => {
    const parts: Buffer[] = []
    if (!headerStarted) {
      headerStarted = true
      const dictId = Buffer.alloc(4)
      dictId.writeUInt32BE(adler32(DICTIONARY))
      parts.push(Buffer.from([0x78, 0xbb]), dictId)
    }
    const len = Buffer.alloc(5)
    len[0] = 0x00
    len.writeUInt16LE(raw.length, 1)
    len.writeUInt16LE(~raw.length & 0xffff, 3)
    // then an empty stored block, as zlib's Z_SYNC_FLUSH ends each header block
    parts.push(len, raw, Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]))
    return Buffer.concat(parts)
  }
  const reply = (id: number) => {
    const sid = Buffer.alloc(4)
    sid.writeUInt32BE(id)
    control(2, 0, Buffer.concat([sid, deflateStored(encodeHeaders({}))]))
  }
  // client → server header blocks continue one zlib stream: inflate all of it, keep the new part
  const inflateBlock = (block: Buffer): Buffer => {
    compressedIn = Buffer.concat([compressedIn, block])
    const all = inflateSync(compressedIn, { dictionary: DICTIONARY, finishFlush: zc.Z_SYNC_FLUSH })
    const fresh = all.subarray(inflated)
    inflated = all.length
    return fresh
  }

  const finish = (id: number) => data(id, 0x01, Buffer.alloc(0))

  const onStream = (s: PfStream) => {
    const type = s.headers.streamtype
    const rid = s.headers.requestid ?? ''
    const port = Number(s.headers.port)
    if (type === 'error') {
      errorStreams.set(rid, s.id)
      return
    }
    if (type !== 'data') return
    const fail = (message: string) => {
      const e = errorStreams.get(rid)
      if (e) {
        data(e, 0, Buffer.from(message))
        finish(e)
      }
      finish(s.id)
    }
    const target = Number.isInteger(port) && port > 0 && port < 65536 ? o.dial(port) : undefined
    if (!target)
      return fail(
        `error forwarding port ${s.headers.port}: the pod is not running or listens on no such port`,
      )
    const sock = connect(target)
    sockets.add(sock)
    s.onData = (d) => sock.write(d)
    s.onEnd = () => sock.end()
    sock.on('data', (d: Buffer) => data(s.id, 0, d))
    sock.on('error', (e) => fail(`error forwarding port ${port} to pod: ${e.message}`))
    sock.on('end', () => {
      finish(s.id)
      const e = errorStreams.get(rid)
      if (e) finish(e)
    })
    sock.on('close', () => sockets.delete(sock))
  }

  const frame = (f: Buffer) => {
    const isControl = (f[0] & 0x80) !== 0
    const flags = f[4]
    const body = f.subarray(8)
    if (!isControl) {
      const id = f.readUInt32BE(0) & 0x7fffffff
      const s = streams.get(id)
      if (body.length > 0) s?.onData?.(Buffer.from(body))
      if (flags & 0x01) s?.onEnd?.()
      return
    }
    const type = f.readUInt16BE(2)
    if (type === 1) {
      // SYN_STREAM: stream id, associated id, priority, slot, header block
      const id = body.readUInt32BE(0) & 0x7fffffff
      const s: PfStream = { id, headers: decodeHeaders(inflateBlock(body.subarray(10))) }
      streams.set(id, s)
      reply(id)
      onStream(s)
      if (flags & 0x01) s.onEnd?.()
    } else if (type === 3) {
      const id = body.readUInt32BE(0) & 0x7fffffff
      streams.get(id)?.onEnd?.()
      streams.delete(id)
    } else if (type === 6) {
      control(6, 0, body) // PING: echoed
    } else if (type === 7) {
      o.close()
    }
  }

  return {
    receive(b) {
      pending = Buffer.concat([pending, b])
      while (pending.length >= 8) {
        const len = pending.readUInt32BE(4) & 0xffffff
        if (pending.length < 8 + len) break
        const f = pending.subarray(0, 8 + len)
        pending = pending.subarray(8 + len)
        try {
          frame(f)
        } catch {
          o.close()
          return
        }
      }
    },
    end() {
      for (const s of sockets) s.destroy()
    },
  }
}

/**
 * The ports of a plain WebSocket port-forward request: `ports` (what clients send the API
 * server, PodPortForwardOptions) or `port` (what it sends the kubelet), repeated or
 * comma-separated; an error when none is given or one is no port number.
 *
 *   forwardPorts(new URLSearchParams('ports=8080,9090')) → [8080, 9090]
 *   forwardPorts(new URLSearchParams('ports=x')) → { error: 'invalid port "x"' }
 */
export function forwardPorts(q: URLSearchParams): number[] | { error: string } {
  const raw = [...q.getAll('ports'), ...q.getAll('port')].flatMap((p) => p.split(',')).map((p) => p.trim())
  if (raw.length === 0) return { error: 'query parameter "ports" is required' }
  if (raw.length > 64) return { error: 'at most 64 ports per port-forward' }
  const ports: number[] = []
  for (const p of raw) {
    const n = /^\d{1,5}$/.test(p) ? Number(p) : Number.NaN
    if (!(n > 0 && n < 65536)) return { error: `invalid port "${p}"` }
    ports.push(n)
  }
  return ports
}

/**
 * The plain WebSocket port-forward protocol kube-apiserver serves to clients that do not
 * tunnel SPDY (the official Python client's `portforward`; subprotocols `v4.channel.k8s.io`,
 * `channel.k8s.io` or none, and their base64 forms): port i has a data channel 2i and an
 * error channel 2i+1, and the first message on each carries the port, 2 bytes little-endian
 * (k8s.io/kubelet cri/streaming/portforward/websocket.go). One connection to each port is
 * dialled at once and copied both ways; when every one has ended the WebSocket closes.
 *
 *   channel frames for ports [8080]: server → [0, 0x90, 0x1f], [1, 0x90, 0x1f], then [0, ...data]
 */
export function channelPortForward(o: {
  ports: number[]
  /** Sends one channel message (channel byte, then payload). */
  send: (channel: number, data: Buffer) => void
  dial: (port: number) => { host: string; port: number } | undefined
  close: () => void
}): { receive: (channel: number, data: Buffer) => void; end: () => void } {
  const sockets: (import('node:net').Socket | undefined)[] = []
  let open = o.ports.length
  const done = () => {
    open--
    if (open === 0) o.close()
  }
  o.ports.forEach((port, i) => {
    const le = Buffer.alloc(2)
    le.writeUInt16LE(port)
    o.send(2 * i, le)
    o.send(2 * i + 1, le)
  })
  o.ports.forEach((port, i) => {
    const fail = (message: string) => o.send(2 * i + 1, Buffer.from(message))
    const target = o.dial(port)
    if (!target) {
      fail(`error forwarding port ${port} to pod: the pod is not running or listens on no such port`)
      done()
      return
    }
    const sock = connect(target)
    sockets[i] = sock
    let ended = false
    const finish = () => {
      if (ended) return
      ended = true
      done()
    }
    sock.on('data', (d: Buffer) => o.send(2 * i, d))
    sock.on('error', (e) => fail(`error forwarding port ${port} to pod: ${e.message}`))
    sock.on('close', finish)
  })
  return {
    receive(channel, data) {
      if (channel % 2 !== 0 || data.length === 0) return
      sockets[channel / 2]?.write(data)
    },
    end() {
      for (const s of sockets) s?.destroy()
    },
  }
}
