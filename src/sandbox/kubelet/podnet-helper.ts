import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'

/**
 * The pod network helper, in Go: one small static process per pod holds the pod's network
 * namespace and forwards connections from a UNIX socket to the port each one names. Built
 * once with the Go toolchain `build` uses (about 1.6 MB, a few MiB resident), because a
 * Node process per pod would cost ~40 MiB and a socat per port forks per connection.
 */
export const PODNET_SOURCE = `// podnet holds a pod's network namespace and forwards into it: each connection to the UNIX
// socket named by its argument starts with a line "PORT\\n"; podnet dials that port on the
// namespace's loopback (IPv4, then IPv6) and copies bytes both ways, half-closes included.
package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
)

func main() {
	sock := os.Args[1]
	os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\\n")
		os.Exit(1)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			continue
		}
		go handle(c.(*net.UnixConn))
	}
}

func handle(c *net.UnixConn) {
	r := bufio.NewReaderSize(c, 64)
	line, err := r.ReadString('\\n')
	port, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil || port <= 0 || port > 65535 {
		c.Close()
		return
	}
	p := strconv.Itoa(port)
	u, err := net.Dial("tcp4", "127.0.0.1:"+p)
	if err != nil {
		u, err = net.Dial("tcp6", "[::1]:"+p)
	}
	if err != nil {
		c.Close()
		return
	}
	t := u.(*net.TCPConn)
	done := make(chan struct{})
	go func() {
		io.Copy(t, r)
		t.CloseWrite()
		close(done)
	}()
	io.Copy(c, t)
	c.CloseWrite()
	<-done
	c.Close()
	t.Close()
}
`

/**
 * The helper's executable under `dir` (built there the first time; the name carries the
 * source's hash, so a changed source is rebuilt). Rejects when Go is missing.
 */
export async function buildPodnet(dir: string): Promise<string> {
  const hash = createHash('sha256').update(PODNET_SOURCE).digest('hex').slice(0, 12)
  const bin = join(dir, `podnet-${hash}`)
  if (existsSync(bin)) return bin
  mkdirSync(dir, { recursive: true })
  const work = mkdtempSync(join(dir, 'podnet-build-'))
  try {
    writeFileSync(join(work, 'main.go'), PODNET_SOURCE)
    await promisify(execFile)(
      'go',
      ['build', '-trimpath', '-ldflags=-s -w', '-o', join(work, 'podnet'), 'main.go'],
      {
        cwd: work,
        env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false', GO111MODULE: 'off' },
        timeout: 300_000,
      },
    )
    renameSync(join(work, 'podnet'), bin)
    return bin
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
