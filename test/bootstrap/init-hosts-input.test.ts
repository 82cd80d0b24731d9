import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'
import { freePort } from '../helpers/ports.js'
import { repoRoot } from '../helpers/sandbox.js'

// Bad input to `init --hosts`: a one-line reason and a hint, exit 2, nothing written.
describe('init --hosts refuses bad input before touching anything', () => {
  const home = mkdtempSync(join(tmpdir(), 'ec-hosts-input-'))
  const work = join(home, 'work')
  mkdirSync(work)
  const env = { ...process.env, HOME: home, EDGECANARY_HOME: join(home, '.ec'), KUBECONFIG: '', CI: 'true' }
  const fixtures = join(repoRoot, 'test', 'fixtures', 'k3s-standin')
  afterAll(() => rmSync(home, { recursive: true, force: true }))

  it.each([
    [['--hosts', 'pi@10.0.0.10'], 'needs a registry the nodes can pull from', '--registry laptop'],
    [['--hosts', 'pi@bad host', '--registry', 'laptop'], 'is not a host', '[user@]host[:port]'],
    [['--hosts', 'pi@h:99999', '--registry', 'laptop'], 'between 1 and 65535', 'pi@10.0.0.10:22'],
    [['--hosts', 'a,a', '--registry', 'laptop'], 'named twice', 'k3s server'],
    [
      ['--hosts', 'a', '--registry', 'laptop', '--k3s-binary', join(fixtures, 'k3s')],
      'need both',
      'install.sh',
    ],
    [
      [
        '--hosts',
        'a',
        '--registry',
        'laptop',
        '--k3s-binary',
        '/nope/k3s',
        '--k3s-install-script',
        '/nope/i.sh',
      ],
      '/nope/k3s does not exist',
      'airgap',
    ],
    [
      ['--hosts', 'a', '--registry', 'laptop', '--k3s-version', 'v1', '--k3s-channel', 'stable'],
      'exclude',
      'one',
    ],
    [['--hosts', 'a', '--registry', 'bad registry!'], 'is not HOST[:PORT]', 'registry.lan:5000'],
    [
      ['--hosts', 'a', '--registry', 'laptop', '--ssh-key', '/nope/id'],
      '/nope/id does not exist',
      'private key',
    ],
    [
      [
        '--hosts',
        'a',
        '--registry',
        'laptop',
        '--k3s-binary',
        join(fixtures, 'k3s'),
        '--k3s-install-script',
        '/dev/null',
      ],
      '--k3s-install-script /dev/null is not a shell script (it does not start with #!)',
      'install.sh from the k3s release',
    ],
    [
      [
        '--hosts',
        'a',
        '--registry',
        'laptop',
        '--k3s-binary',
        '/dev/null',
        '--k3s-install-script',
        join(fixtures, 'install.sh'),
      ],
      '--k3s-binary /dev/null is empty',
      'k3s-arm64',
    ],
    [['--hosts', '', '--registry', 'laptop'], '--hosts names no host', '--hosts pi@10.0.0.10'],
    [
      ['--hosts', 'a', '--user', 'pi;reboot', '--registry', 'laptop'],
      '--user "pi;reboot" is not a user name',
      '--user pi',
    ],
    [['--uninstall'], '--uninstall needs --hosts', '--hosts'],
    [['--registry', 'laptop'], '--registry laptop is for --hosts', 'HOST:PORT'],
  ])('init %j', async (args, message, hint) => {
    const r = await runCli(['init', ...args], { env, cwd: work })
    expect(r.status, r.stderr).toBe(2)
    const [line, hintLine] = r.stderr.trim().split('\n').slice(-2)
    expect(line).toMatch(/^Error: /)
    expect(line).toContain(message)
    expect(hintLine).toMatch(/^Hint: /)
    expect(hintLine).toContain(hint)
    expect(readdirSync(work)).toEqual([])
    expect(existsSync(join(home, '.kube'))).toBe(false)
    expect(existsSync(join(home, '.ssh', 'known_hosts'))).toBe(false)
  })

  it('an unreachable host is exit 2 with the host named, and no kubeconfig written', async () => {
    const port = await freePort()
    const r = await runCli(
      ['init', '--hosts', `pi@127.0.0.1:${port}`, '--registry', 'laptop', '--accept-new-host-keys', '--json'],
      { env, cwd: work },
    )
    expect(r.status, r.stderr).toBe(2)
    const err = (
      JSON.parse(r.stdout) as { error: { message: string; hosts: { ok: boolean; problems: string[] }[] } }
    ).error
    expect(err.message).toContain(`preflight failed on pi@127.0.0.1:${port}`)
    expect(err.message).toContain(`pi@[127.0.0.1]:${port} is unreachable over SSH: ECONNREFUSED`)
    expect(err.hosts[0].ok).toBe(false)
    expect(existsSync(join(home, '.kube'))).toBe(false)
    expect(readdirSync(work)).toEqual([])
  })
})
