import { describe, expect, it } from 'vitest'
import { editDistance, unknownCommand } from './unknown-command.js'

const commands = ['status', 'release', 'promote', 'history', 'sandbox:up', 'sandbox:down', 'sandbox:status']
const topics = ['sandbox', 'registry']

describe('unknownCommand', () => {
  it.each([
    ['status:extra', 'Unexpected argument: extra', 'see: edgecanary status --help'],
    ['status:a:b', 'Unexpected arguments: a b', 'see: edgecanary status --help'],
    ['sandbox:up:now', 'Unexpected argument: now', 'see: edgecanary sandbox up --help'],
    ['relase', 'unknown command "relase"', 'did you mean `edgecanary release`? see: edgecanary --help'],
    [
      'sandbox:upp',
      'unknown command "sandbox upp"',
      'did you mean `edgecanary sandbox up`? see: edgecanary sandbox --help',
    ],
    ['frobnicate', 'unknown command "frobnicate"', 'see: edgecanary --help'],
    ['relase:2.0', 'unknown command "relase"', 'did you mean `edgecanary release`? see: edgecanary --help'],
    [
      'sandbox:upp:--nodes',
      'unknown command "sandbox upp"',
      'did you mean `edgecanary sandbox up`? see: edgecanary sandbox --help',
    ],
  ])('%s → %s', (id, message, hint) => {
    expect(unknownCommand(id, commands, topics)).toEqual({ message, hint })
  })
})

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['release', 'release', 0],
    ['relase', 'release', 1],
    ['stauts', 'status', 2],
    ['abc', '', 3],
  ])('%s ~ %s = %i', (a, b, d) => expect(editDistance(a, b)).toBe(d))
})
