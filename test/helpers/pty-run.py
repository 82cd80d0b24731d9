"""Runs a command in a new pseudo-terminal, as a user's terminal would, and types into it.

usage: pty-run.py KEYS_DIR COLS ROWS -- COMMAND ARGS...

Everything the command writes to the terminal is copied to stdout. Whenever a file appears in
KEYS_DIR, its bytes are typed into the terminal (e.g. b'\\x03', Ctrl-C: the terminal's line
discipline turns it into SIGINT for the foreground process group, as in a shell) and the file is
removed. Exits with the command's exit code (128+N when a signal N ended it).
"""
import fcntl
import os
import pty
import select
import struct
import sys
import termios

keys_dir, cols, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cmd = sys.argv[sys.argv.index('--') + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
out = sys.stdout.buffer
while True:
    for name in sorted(n for n in os.listdir(keys_dir) if not n.startswith('.')):
        path = os.path.join(keys_dir, name)
        with open(path, 'rb') as f:
            os.write(fd, f.read())
        os.remove(path)
    ready, _, _ = select.select([fd], [], [], 0.05)
    if ready:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the terminal's last writer is gone
            break
        if not data:
            break
        out.write(data)
        out.flush()
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
sys.exit(128 - code if code < 0 else code)
