/**
 * What to tell a user whose words name no command: the longest leading part that is a command
 * takes the rest as unexpected arguments; otherwise the words are an unknown command, with the
 * closest command names (edit distance ≤ 2) as a suggestion. `id` is oclif's `a:b:c`.
 *
 *   unknownCommand('status:extra', ['status', 'release'], ['sandbox'])
 *   → { message: 'Unexpected argument: extra', hint: 'see: edgecanary status --help' }
 *   unknownCommand('relase:2.0', ['release', 'status'], [])
 *   → { message: 'unknown command "relase"', hint: 'did you mean `edgecanary release`? see: edgecanary --help' }
 */
export function unknownCommand(
  id: string,
  commands: string[],
  topics: string[],
): { message: string; hint: string } {
  const words = id.split(':')
  for (let n = words.length - 1; n > 0; n--) {
    const head = words.slice(0, n).join(':')
    if (commands.includes(head)) {
      return {
        message: `Unexpected argument${words.length - n > 1 ? 's' : ''}: ${words.slice(n).join(' ')}`,
        hint: `see: edgecanary ${head.replaceAll(':', ' ')} --help`,
      }
    }
  }
  // the command is the first word (or the topic's words and the next one); the rest are arguments
  const topic = [...topics].sort((a, b) => b.length - a.length).find((t) => id.startsWith(`${t}:`))
  const typed = words.slice(0, topic ? topic.split(':').length + 1 : 1).join(' ')
  const pool = topic ? commands.filter((c) => c.startsWith(`${topic}:`)) : commands
  const near = pool
    .map((c) => ({ c, d: editDistance(c.replaceAll(':', ' '), typed) }))
    .filter((x) => x.d <= 2)
    .sort((a, b) => a.d - b.d || (a.c < b.c ? -1 : 1))
    .map((x) => `\`edgecanary ${x.c.replaceAll(':', ' ')}\``)
  const help = `see: edgecanary ${topic ? `${topic.replaceAll(':', ' ')} ` : ''}--help`
  return {
    message: `unknown command "${typed}"`,
    hint: near.length > 0 ? `did you mean ${near.slice(0, 2).join(' or ')}? ${help}` : help,
  }
}

/** Levenshtein distance. editDistance('relase', 'release') → 1 */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = row
  }
  return prev[b.length]
}
