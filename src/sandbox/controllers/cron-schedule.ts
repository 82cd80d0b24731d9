import { CronExpressionParser } from 'cron-parser'

/** kube-controller-manager's cronjob controller gives up counting past this many missed runs. */
const MAX_MISSED = 100
const DESCRIPTORS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']

/**
 * Why a CronJob schedule is refused, or undefined when it is valid. Kubernetes parses with
 * robfig/cron's standard parser: five fields or a descriptor, no seconds field, and a `TZ=`
 * prefix is refused (spec.timeZone exists for that).
 *
 *   cronScheduleError('*\/5 * * * *') → undefined
 *   cronScheduleError('@hourly') → undefined
 *   cronScheduleError('0 * * * * *') → 'Invalid value: "0 * * * * *": expected exactly 5 fields, found 6'
 */
export function cronScheduleError(schedule: string): string | undefined {
  const s = schedule.trim()
  if (s.length === 0 || s.length > 256)
    return `Invalid value: "${schedule}": a schedule is 1 to 256 characters`
  if (/^(CRON_)?TZ=/.test(s))
    return `Invalid value: "${schedule}": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`
  if (s.startsWith('@')) {
    return DESCRIPTORS.includes(s) ? undefined : `Invalid value: "${schedule}": unrecognized descriptor: ${s}`
  }
  const fields = s.split(/\s+/).length
  if (fields !== 5) return `Invalid value: "${schedule}": expected exactly 5 fields, found ${fields}`
  try {
    CronExpressionParser.parse(s, { tz: 'UTC' })
    return undefined
  } catch (err) {
    return `Invalid value: "${schedule}": ${(err as Error).message}`
  }
}

/**
 * Why a CronJob's spec.timeZone is refused (an IANA zone name, as time.LoadLocation takes), or
 * undefined when it is valid.
 *
 *   timeZoneError('Europe/Berlin') → undefined;  timeZoneError('Mars/Base') → 'Invalid value: "Mars/Base": unknown time zone Mars/Base'
 */
export function timeZoneError(tz: string): string | undefined {
  if (tz.length === 0 || tz.length > 64 || /^(Local|\s)/.test(tz))
    return `Invalid value: "${tz}": unknown time zone ${tz}`
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz })
    return undefined
  } catch {
    return `Invalid value: "${tz}": unknown time zone ${tz}`
  }
}

/**
 * The latest time the schedule fires in (`earliest`, `now`] (ms since the epoch), read in
 * `timeZone` (spec.timeZone, UTC by default), and how many times it fired in that window, as
 * the controller's `mostRecentScheduleTime` counts them.
 *
 *   mostRecentRun('* * * * *', Date.parse('2026-01-01T00:00:30Z'), Date.parse('2026-01-01T00:03:10Z'))
 *     → { time: Date.parse('2026-01-01T00:03:00Z'), missed: 3 }
 *   mostRecentRun('0 * * * *', Date.parse('2026-01-01T00:00:30Z'), Date.parse('2026-01-01T00:30:00Z'))
 *     → { missed: 0 }
 */
export function mostRecentRun(
  schedule: string,
  earliest: number,
  now: number,
  timeZone = 'UTC',
): { time?: number; missed: number } {
  const it = CronExpressionParser.parse(schedule.trim(), { tz: timeZone, currentDate: new Date(earliest) })
  let time: number | undefined
  let missed = 0
  for (;;) {
    const next = it.next().getTime()
    if (next > now) break
    time = next
    if (++missed > MAX_MISSED) break
  }
  return time === undefined ? { missed: 0 } : { time, missed }
}

export type CronAction = 'wait' | 'create' | 'replace' | 'skip-forbidden' | 'skip-deadline' | 'suspended'

/**
 * What the CronJob controller does with a due run at `scheduled` (or none):
 * Allow runs alongside active Jobs, Forbid skips while one is active, Replace deletes the
 * active ones first; a run later than startingDeadlineSeconds is skipped.
 *
 *   cronAction({ policy: 'Forbid', active: 1, scheduled: 60_000, now: 61_000 }) → 'skip-forbidden'
 *   cronAction({ policy: 'Replace', active: 1, scheduled: 60_000, now: 61_000 }) → 'replace'
 */
export function cronAction(o: {
  policy: string
  active: number
  scheduled?: number
  now: number
  suspend?: boolean
  startingDeadlineSeconds?: number
}): CronAction {
  if (o.suspend) return 'suspended'
  if (o.scheduled === undefined) return 'wait'
  if (o.startingDeadlineSeconds !== undefined && o.now - o.scheduled > o.startingDeadlineSeconds * 1000)
    return 'skip-deadline'
  if (o.active > 0 && o.policy === 'Forbid') return 'skip-forbidden'
  if (o.active > 0 && o.policy === 'Replace') return 'replace'
  return 'create'
}
