import { describe, expect, it } from 'vitest'
import { cronAction, cronScheduleError, mostRecentRun, timeZoneError } from './cron-schedule.js'
import { type DaemonNode, daemonPlan } from './daemon-math.js'
import { jobBackoffMs, jobDecision } from './job-math.js'

const t = (s: string) => Date.parse(s)

describe('Job controller decisions (pkg/controller/job)', () => {
  it.each([
    // completions, parallelism, backoffLimit, active, succeeded, failures, expected
    [1, 1, 6, 0, 0, 0, { kind: 'run', create: 1, remove: 0 }],
    [3, 2, 6, 0, 0, 0, { kind: 'run', create: 2, remove: 0 }],
    [3, 2, 6, 2, 2, 0, { kind: 'run', create: 0, remove: 1 }],
    [3, 2, 6, 1, 2, 0, { kind: 'run', create: 0, remove: 0 }],
    [3, 2, 6, 0, 3, 0, { kind: 'complete' }],
    [null, 2, 6, 1, 1, 0, { kind: 'run', create: 0, remove: 1 }],
    [null, 2, 6, 0, 1, 0, { kind: 'complete' }],
    [1, 1, 1, 0, 0, 1, { kind: 'run', create: 1, remove: 0 }],
    [1, 1, 1, 0, 0, 2, { kind: 'failed', reason: 'BackoffLimitExceeded' }],
    [1, 1, 0, 0, 0, 1, { kind: 'failed', reason: 'BackoffLimitExceeded' }],
  ])(
    'completions %j parallelism %i backoffLimit %i, active %i succeeded %i failures %i',
    (completions, parallelism, backoffLimit, active, succeeded, failures, out) => {
      expect(
        jobDecision({ completions, parallelism, backoffLimit }, { active, succeeded, failures }, 0),
      ).toMatchObject(out)
    },
  )

  it('fails a Job active longer than activeDeadlineSeconds', () => {
    expect(
      jobDecision(
        { completions: 1, parallelism: 1, backoffLimit: 6, activeDeadlineSeconds: 5 },
        { active: 1, succeeded: 0, failures: 0 },
        5000,
      ),
    ).toMatchObject({ kind: 'failed', reason: 'DeadlineExceeded' })
  })

  it.each([
    [0, 0],
    [1, 10_000],
    [2, 20_000],
    [3, 40_000],
    [10, 360_000],
  ])('back-off after %i failures is %i ms', (failures, ms) => expect(jobBackoffMs(failures, 10_000)).toBe(ms))
})

const pod = (name: string, hash: string, available = true, terminating = false) => ({
  name,
  hash,
  available,
  terminating,
})

describe('DaemonSet plan (pkg/controller/daemon)', () => {
  it.each<[string, DaemonNode[], string, number, { create: string[]; remove: string[] }]>([
    [
      'a pod on every wanted node, none elsewhere',
      [
        { name: 'pi-1', wanted: true, pods: [] },
        { name: 'pi-2', wanted: false, pods: [pod('x', 'h2')] },
        { name: 'pi-3', wanted: true, pods: [pod('y', 'h2')] },
      ],
      'RollingUpdate',
      1,
      { create: ['pi-1'], remove: ['x'] },
    ],
    [
      'extras on a node go, the current template stays',
      [{ name: 'pi-1', wanted: true, pods: [pod('old', 'h1'), pod('new', 'h2')] }],
      'RollingUpdate',
      1,
      { create: [], remove: ['old'] },
    ],
    [
      'RollingUpdate replaces at most maxUnavailable available pods at a time',
      [
        { name: 'pi-1', wanted: true, pods: [pod('a', 'h1')] },
        { name: 'pi-2', wanted: true, pods: [pod('b', 'h1')] },
      ],
      'RollingUpdate',
      1,
      { create: [], remove: ['a'] },
    ],
    [
      'a node still replacing its pod uses the budget',
      [
        { name: 'pi-1', wanted: true, pods: [pod('a', 'h1', false, true)] },
        { name: 'pi-2', wanted: true, pods: [pod('b', 'h1')] },
      ],
      'RollingUpdate',
      1,
      { create: [], remove: [] },
    ],
    [
      'unavailable old pods are replaced whatever the budget',
      [
        { name: 'pi-1', wanted: true, pods: [pod('a', 'h1', false)] },
        { name: 'pi-2', wanted: true, pods: [pod('b', 'h1')] },
      ],
      'RollingUpdate',
      1,
      { create: [], remove: ['a'] },
    ],
    [
      'OnDelete leaves old pods alone',
      [{ name: 'pi-1', wanted: true, pods: [pod('a', 'h1')] }],
      'OnDelete',
      1,
      { create: [], remove: [] },
    ],
  ])('%s', (_name, nodes, strategy, maxUnavailable, out) =>
    expect(daemonPlan(nodes, 'h2', strategy, maxUnavailable)).toEqual(out),
  )
})

describe('CronJob schedule (robfig/cron standard parser, pkg/controller/cronjob)', () => {
  it.each([
    ['*/5 * * * *', undefined],
    ['@hourly', undefined],
    ['0 0 * * 1-5', undefined],
    ['0 * * * * *', 'expected exactly 5 fields, found 6'],
    ['61 * * * *', 'Invalid value: "61 * * * *"'],
    ['TZ=UTC 0 * * * *', 'use timeZone field instead'],
    ['@fortnightly', 'unrecognized descriptor'],
  ])('cronScheduleError(%j)', (s, why) => {
    if (why === undefined) expect(cronScheduleError(s)).toBeUndefined()
    else expect(cronScheduleError(s)).toContain(why)
  })

  it.each([
    [
      '* * * * *',
      '2026-01-01T00:00:30Z',
      '2026-01-01T00:03:10Z',
      { time: t('2026-01-01T00:03:00Z'), missed: 3 },
    ],
    ['0 * * * *', '2026-01-01T00:00:30Z', '2026-01-01T00:30:00Z', { missed: 0 }],
    ['*/5 * * * *', '2026-01-01T00:05:00Z', '2026-01-01T00:05:00Z', { missed: 0 }],
    [
      '*/5 * * * *',
      '2026-01-01T00:04:59Z',
      '2026-01-01T00:05:00Z',
      { time: t('2026-01-01T00:05:00Z'), missed: 1 },
    ],
  ])('mostRecentRun(%j, %s, %s)', (s, earliest, now, out) =>
    expect(mostRecentRun(s, t(earliest), t(now))).toEqual(out),
  )

  it('reads the schedule in spec.timeZone', () => {
    // 09:00 in Berlin is 08:00 UTC in winter
    expect(
      mostRecentRun('0 9 * * *', t('2026-01-01T00:00:00Z'), t('2026-01-01T12:00:00Z'), 'Europe/Berlin'),
    ).toEqual({ time: t('2026-01-01T08:00:00Z'), missed: 1 })
  })

  it.each([
    ['Europe/Berlin', undefined],
    ['UTC', undefined],
    ['Mars/Base', 'unknown time zone Mars/Base'],
    ['Local', 'unknown time zone Local'],
    ['', 'unknown time zone'],
  ])('timeZoneError(%j)', (tz, why) => {
    if (why === undefined) expect(timeZoneError(tz)).toBeUndefined()
    else expect(timeZoneError(tz)).toContain(why)
  })

  it.each([
    [{ policy: 'Allow', active: 1, scheduled: 60_000, now: 61_000 }, 'create'],
    [{ policy: 'Forbid', active: 1, scheduled: 60_000, now: 61_000 }, 'skip-forbidden'],
    [{ policy: 'Forbid', active: 0, scheduled: 60_000, now: 61_000 }, 'create'],
    [{ policy: 'Replace', active: 1, scheduled: 60_000, now: 61_000 }, 'replace'],
    [{ policy: 'Allow', active: 0, now: 61_000 }, 'wait'],
    [{ policy: 'Allow', active: 0, scheduled: 60_000, now: 61_000, suspend: true }, 'suspended'],
    [
      { policy: 'Allow', active: 0, scheduled: 0, now: 200_000, startingDeadlineSeconds: 100 },
      'skip-deadline',
    ],
  ])('cronAction(%j) = %s', (o, out) => expect(cronAction(o)).toBe(out))
})
