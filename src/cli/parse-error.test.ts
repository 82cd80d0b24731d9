import { describe, expect, it } from 'vitest'
import { parseErrorLine } from './parse-error.js'

// messages as @oclif/core 4 writes them
describe('parseErrorLine', () => {
  it.each([
    [
      'Missing 1 required arg:\nversion  version to release (the image tag)\n\nNote: --env, --notify allow multiple values. Because of this you need to provide all arguments before providing those flags.\nAlternatively, you can use "--" to signify the end of the flags and the beginning of arguments.\nSee more help with --help',
      'missing argument VERSION',
    ],
    [
      'Missing 1 required arg:\nkind  (node-stop|node-start|api-error) \n      what to break or mend\nSee more help with --help',
      'missing argument KIND (one of node-stop, node-start, api-error)',
    ],
    [
      'Missing 2 required args:\nfrom  source\nto    target\nSee more help with --help',
      'missing arguments FROM, TO',
    ],
    [
      'Parsing --replicas \n\tExpected an integer greater than or equal to 1 but received: 0\nSee more help with --help',
      '--replicas: expected an integer ≥ 1, got 0',
    ],
    [
      'Parsing --replicas \n\tExpected an integer less than or equal to 100 but received: 101\nSee more help with --help',
      '--replicas: expected an integer ≤ 100, got 101',
    ],
    [
      'Parsing --requests \n\tExpected an integer but received: abc\nSee more help with --help',
      '--requests: expected an integer, got abc',
    ],
    ['Parsing --rate \nSee more help with --help', '--rate: invalid value'],
    [
      'The following error occurred:\n  Missing required flag repo\nSee more help with --help',
      'The following error occurred: Missing required flag repo',
    ],
    ['Nonexistent flag: --bogus\nSee more help with --help', 'Nonexistent flag: --bogus'],
    ['Unexpected argument: 2\nSee more help with --help', 'Unexpected argument: 2'],
    ['Flag --version expects a value', 'Flag --version expects a value'],
  ])('%j → %s', (message, line) => {
    expect(parseErrorLine(message)).toBe(line)
  })
})
