import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'

/**
 * The pod network helper, in Go: one small static process per pod holds the pod's network
 * namespace and forwards connections from a UNIX socket to the port each one names; the same
 * binary is the pseudo-terminal of `kubectl exec -it` (`podnet pty -- CMD…`), whose window
 * size follows the exec resize channel. Built
 * once with the Go toolchain `build` uses (about 1.6 MB, a few MiB resident), because a
 * Node process per pod would cost ~40 MiB and a socat per port forks per connection.
 */
export const PODNET_SOURCE = `// podnet holds a pod's network namespace and forwards into it: each connection to the UNIX
// socket named by its argument starts with a line "PORT\\n"; podnet dials that port on the
// namespace's loopback (IPv4, then IPv6) and copies bytes both ways, half-closes included.
//
// "podnet pty -- CMD ARGS..." is the terminal of "kubectl exec -it": CMD runs in a new session
// with a pseudo-terminal as its controlling terminal and stdio; the pty's bytes are copied to
// and from podnet's stdin and stdout; each line "COLS ROWS" read from fd 3 sets the window
// size (the exec resize channel). CMD starts once the first size arrived (at most 1 s), so it
// sees the client's size from the start. Exits with CMD's code (128+signal when killed).
package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "pty" {
		ptyMain(os.Args[2:])
		return
	}
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

func ioctl(fd, req, arg uintptr) syscall.Errno {
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, req, arg)
	return e
}

func ptyMain(args []string) {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		os.Stderr.WriteString("pty: " + err.Error() + "\\n")
		os.Exit(126)
	}
	mfd := m.Fd()
	var unlock int32
	var n uint32
	if e := ioctl(mfd, syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		os.Stderr.WriteString("pty: unlockpt: " + e.Error() + "\\n")
		os.Exit(126)
	}
	if e := ioctl(mfd, syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		os.Stderr.WriteString("pty: ptsname: " + e.Error() + "\\n")
		os.Exit(126)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		os.Stderr.WriteString("pty: " + err.Error() + "\\n")
		os.Exit(126)
	}
	first := make(chan struct{})
	var once sync.Once
	go func() {
		r := bufio.NewScanner(os.NewFile(3, "resize"))
		for r.Scan() {
			f := strings.Fields(r.Text())
			if len(f) == 2 {
				w, _ := strconv.Atoi(f[0])
				h, _ := strconv.Atoi(f[1])
				if w > 0 && h > 0 && w < 65536 && h < 65536 {
					ws := [4]uint16{uint16(h), uint16(w), 0, 0}
					ioctl(mfd, syscall.TIOCSWINSZ, uintptr(unsafe.Pointer(&ws)))
				}
			}
			once.Do(func() { close(first) })
		}
		once.Do(func() { close(first) })
	}()
	select {
	case <-first:
	case <-time.After(time.Second):
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		os.Stderr.WriteString("pty: " + err.Error() + "\\n")
		os.Exit(127)
	}
	s.Close()
	go func() {
		io.Copy(m, os.Stdin)
		m.Write([]byte{4})
	}()
	out := make(chan struct{})
	go func() {
		io.Copy(os.Stdout, m)
		close(out)
	}()
	cmd.Wait()
	select {
	case <-out:
	case <-time.After(time.Second):
	}
	st := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if st.Signaled() {
		os.Exit(128 + int(st.Signal()))
	}
	os.Exit(st.ExitStatus())
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
