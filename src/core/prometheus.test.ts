import { describe, expect, it } from 'vitest'
import { validateConfig } from './config.js'
import {
  judgeMetrics,
  type MetricResult,
  parseQueryResponse,
  promDuration,
  renderQuery,
} from './prometheus.js'

describe('promDuration', () => {
  it.each([
    [10_000, '10s'],
    [1500, '1500ms'],
    [120_000, '2m'],
    [1000, '1s'],
  ])('%i ms → %s', (ms, out) => expect(promDuration(ms)).toBe(out))
})

describe('renderQuery', () => {
  const vars = { app: 'kubeapp', namespace: 'production', track: 'canary', interval: '10s' }
  it.each([
    ['rate(x{app="{{app}}",track="{{track}}"}[{{interval}}])', 'rate(x{app="kubeapp",track="canary"}[10s])'],
    ['x{namespace="{{ namespace }}"}', 'x{namespace="production"}'],
    ['no placeholders', 'no placeholders'],
    ['{{app}}{{app}}', 'kubeappkubeapp'],
  ])('%s', (q, out) => expect(renderQuery(q, vars)).toBe(out))

  it('escapes what would end a PromQL string', () => {
    expect(renderQuery('x{app="{{app}}"}', { ...vars, app: 'a"b\\c' })).toBe('x{app="a\\"b\\\\c"}')
  })
})

describe('parseQueryResponse', () => {
  const vec = (...values: string[]) => ({
    status: 'success',
    data: { resultType: 'vector', result: values.map((v) => ({ metric: {}, value: [1700000000, v] })) },
  })
  it.each([
    [vec('0.25'), { value: 0.25 }],
    [{ status: 'success', data: { resultType: 'scalar', result: [1, '3'] } }, { value: 3 }],
    [vec(), { error: 'no data (the query matched no series)' }],
    [vec('1', '2'), { error: '2 series; aggregate them to one (sum, avg, max)' }],
    [vec('NaN'), { error: 'no data (the value is NaN)' }],
    [
      { status: 'error', errorType: 'bad_data', error: 'parse error at char 5' },
      { error: 'bad_data: parse error at char 5' },
    ],
    [
      { status: 'success', data: { resultType: 'matrix', result: [] } },
      { error: 'result type matrix; use a query that gives one number' },
    ],
    ['<html>', { error: 'not a Prometheus API answer' }],
  ] as [unknown, object][])('%#', (body, out) => expect(parseQueryResponse(body)).toEqual(out))
})

describe('judgeMetrics', () => {
  const checks = [
    { name: 'error-rate', query: 'q1', max: 0.01 },
    { name: 'throughput', query: 'q2', min: 1 },
  ]
  it.each([
    [
      [
        { name: 'error-rate', value: 0 },
        { name: 'throughput', value: 5 },
      ],
      { ok: true },
    ],
    [
      [
        { name: 'error-rate', value: 0.5 },
        { name: 'throughput', value: 5 },
      ],
      { ok: false, reason: 'metric error-rate = 0.5, above its max 0.01' },
    ],
    [
      [
        { name: 'error-rate', value: 0.01 },
        { name: 'throughput', value: 0.5 },
      ],
      { ok: false, reason: 'metric throughput = 0.5, below its min 1' },
    ],
    [
      [
        { name: 'error-rate', error: 'Prometheus unreachable (ECONNREFUSED)' },
        { name: 'throughput', value: 5 },
      ],
      { ok: false, reason: 'metric error-rate: Prometheus unreachable (ECONNREFUSED)' },
    ],
    [[{ name: 'throughput', value: 5 }], { ok: false, reason: 'metric error-rate: no answer' }],
    [
      [
        { name: 'error-rate', value: 1 / 3 },
        { name: 'throughput', value: 5 },
      ],
      { ok: false, reason: 'metric error-rate = 0.333333, above its max 0.01' },
    ],
  ] as [MetricResult[], object][])('%#', (results, out) => expect(judgeMetrics(checks, results)).toEqual(out))
})

describe('analysis.prometheus and analysis.metrics in edgecanary.yaml', () => {
  const metric = { name: 'error-rate', query: 'sum(rate(x{track="{{track}}"}[{{interval}}]))', max: 0.01 }
  it.each([
    [{ analysis: { prometheus: 'http://prom:9090', metrics: [metric] } }, []],
    [
      { analysis: { metrics: [metric] } },
      ['analysis.prometheus: metrics need analysis.prometheus (the Prometheus URL to query)'],
    ],
    [
      { analysis: { prometheus: 'ftp://prom', metrics: [] } },
      ['analysis.prometheus: must be an http(s) URL'],
    ],
    [
      { analysis: { prometheus: 'http://p', metrics: [{ ...metric, max: undefined }] } },
      ['analysis.metrics.0: needs min or max (the range the value must stay in)'],
    ],
    [
      { analysis: { prometheus: 'http://p', metrics: [{ ...metric, min: 2, max: 1 }] } },
      ['analysis.metrics.0: min must not be above max'],
    ],
    [
      { analysis: { prometheus: 'http://p', metrics: [{ ...metric, query: 'x{pod="{{pod}}"}' }] } },
      [
        'analysis.metrics.0.query: may use only the placeholders {{app}}, {{namespace}}, {{track}}, {{interval}}',
      ],
    ],
    [
      { analysis: { prometheus: 'http://p', metrics: [{ ...metric, name: 'bad name!' }] } },
      ['analysis.metrics.0.name: must be a short name (letters, digits, _ . -)'],
    ],
  ])('%#', (doc, problems) => {
    const r = validateConfig(doc)
    expect(r.ok ? [] : r.problems).toEqual(problems)
  })
})
