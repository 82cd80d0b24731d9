/**
 * Stoppable remote commands. A command that may have to be stopped (an installer, a download)
 * runs in its own session, and its first line on stderr names the session's process group:
 * stopping it signals that whole group on the host (the installer, its curl, its sleep), not
 * just the SSH channel, which sshd would close while the processes carry on.
 */

/** The first line a grouped command writes on stderr. */
export const PGID_MARKER = 'EC-PGID:'

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/**
 * Runs `cmd` (with `sh -c`) in a new session whose leader prints its pid (the process group)
 * on stderr first; `setsid -w` waits and passes on the exit status.
 *
 *   groupCommand('sleep 30')
 *   → "exec setsid -w sh -c 'printf '\''EC-PGID:%s\n'\'' $$ >&2; exec sh -c '\''sleep 30'\'''"
 */
export function groupCommand(cmd: string): string {
  return `exec setsid -w sh -c ${q(`printf ${q(`${PGID_MARKER}%s\\n`)} $$ >&2; exec sh -c ${q(cmd)}`)}`
}

/**
 * Ends a process group: TERM, up to 2 s for it to go, then KILL. procps' kill, as dash's
 * builtin takes no negative pid. Gone means no member left but zombies (pgrep's run states;
 * where pgrep cannot say, any member left). Bounded; always exits 0.
 *
 *   killGroupCommand(812)
 *   → '/bin/kill -s TERM -- -812 2>/dev/null; i=0; while [ $i -lt 20 ]; do pgrep -g 812 -r R,S,D,T,t >/dev/null 2>&1; r=$?; [ $r -eq 1 ] && break; [ $r -gt 1 ] && { /bin/kill -s 0 -- -812 2>/dev/null || break; }; sleep 0.1; i=$((i+1)); done; /bin/kill -s KILL -- -812 2>/dev/null; true'
 */
export function killGroupCommand(pgid: number): string {
  if (!Number.isSafeInteger(pgid) || pgid <= 1) throw new Error(`not a process group: ${pgid}`)
  const g = `-- -${pgid}`
  const alive = `pgrep -g ${pgid} -r R,S,D,T,t >/dev/null 2>&1; r=$?; [ $r -eq 1 ] && break; [ $r -gt 1 ] && { /bin/kill -s 0 ${g} 2>/dev/null || break; }`
  return `/bin/kill -s TERM ${g} 2>/dev/null; i=0; while [ $i -lt 20 ]; do ${alive}; sleep 0.1; i=$((i+1)); done; /bin/kill -s KILL ${g} 2>/dev/null; true`
}

/**
 * Finds the marker line in the stderr read so far: the process group, and stderr without
 * that line. Undefined until the whole line has arrived.
 *
 *   takePgid('EC-PGID:812\ncurl: (6) no host\n') → { pgid: 812, rest: 'curl: (6) no host\n' }
 *   takePgid('sudo: unable to resolve host\nEC-PGID:9\n') → { pgid: 9, rest: 'sudo: unable to resolve host\n' }
 *   takePgid('EC-PGID:81') → undefined
 */
export function takePgid(stderr: string): { pgid: number; rest: string } | undefined {
  const m = new RegExp(`(^|\\n)${PGID_MARKER}(\\d{1,10})\\n`).exec(stderr)
  if (!m) return undefined
  const start = m.index + m[1].length
  return { pgid: Number(m[2]), rest: stderr.slice(0, start) + stderr.slice(m.index + m[0].length) }
}
