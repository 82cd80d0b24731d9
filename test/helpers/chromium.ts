import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inflateSync } from 'node:zlib'

/**
 * Screenshots a local HTML file with Debian's headless Chromium (no network: background
 * networking, sync and component updates off; a new empty profile). Returns the PNG's bytes.
 */
export function screenshot(htmlFile: string, out: string, size = '1000,1100'): Buffer {
  const profile = mkdtempSync(join(tmpdir(), 'ec-chromium-'))
  try {
    const r = spawnSync(
      'chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        '--hide-scrollbars',
        `--window-size=${size}`,
        `--screenshot=${out}`,
        `file://${htmlFile}`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    )
    if (r.status !== 0) throw new Error(`chromium exited ${r.status}: ${r.stderr}`)
    return readFileSync(out)
  } finally {
    rmSync(profile, { recursive: true, force: true })
  }
}

/**
 * Decodes an 8-bit RGB or RGBA PNG (what Chromium writes) into its pixels and counts them by
 * colour: a blank page is one colour.
 */
export function pngColours(png: Buffer): { width: number; height: number; colours: Map<number, number> } {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG')
  let width = 0
  let height = 0
  let channels = 0
  const idat: Buffer[] = []
  for (let off = 8; off < png.length; ) {
    const len = png.readUInt32BE(off)
    const type = png.toString('ascii', off + 4, off + 8)
    const data = png.subarray(off + 8, off + 8 + len)
    if (type === 'IHDR') {
      width = data.readUInt32BE(0)
      height = data.readUInt32BE(4)
      if (data[8] !== 8 || data[12] !== 0) throw new Error('only 8-bit, non-interlaced PNGs')
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0
      if (!channels) throw new Error(`colour type ${data[9]} not handled`)
    } else if (type === 'IDAT') idat.push(data)
    off += 12 + len
  }
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * channels
  let prev = Buffer.alloc(stride)
  const colours = new Map<number, number>()
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)))
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? line[i - channels] : 0
      const b = prev[i]
      const c = i >= channels ? prev[i - channels] : 0
      const add =
        filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : filter === 4 ? paeth(a, b, c) : 0
      line[i] = (line[i] + add) & 0xff
    }
    for (let x = 0; x < width; x++) {
      const k = x * channels
      const rgb = (line[k] << 16) | (line[k + 1] << 8) | line[k + 2]
      colours.set(rgb, (colours.get(rgb) ?? 0) + 1)
    }
    prev = line
  }
  return { width, height, colours }
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c
  const pa = Math.abs(p - a)
  const pb = Math.abs(p - b)
  const pc = Math.abs(p - c)
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c
}
