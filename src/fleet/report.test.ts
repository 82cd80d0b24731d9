import { describe, expect, it } from 'vitest'
import { fleetTable, textTable } from './report.js'

describe('fleet tables', () => {
  it('pads columns to the widest cell, without trailing blanks', () => {
    expect(
      textTable(
        ['CLUSTER', 'FLEET'],
        [
          ['pi-shop-10', 'done'],
          ['pi-1', 'untouched'],
        ],
      ),
    ).toBe('CLUSTER     FLEET\npi-shop-10  done\npi-1        untouched')
  })

  it.each([
    ['failed', 'rolled back'],
    ['running', 'in progress'],
    ['aborted', 'aborted'],
    ['untouched', 'untouched'],
    ['skipped', 'skipped'],
  ])('outcome %s reads "%s"', (outcome, text) => {
    expect(fleetTable([{ cluster: 'pi-1', wave: 2, outcome, reason: 'x' }]).split('\n')[1]).toBe(
      `pi-1     2     ${text.padEnd(Math.max(5, text.length))}  x`,
    )
  })
})
