/**
 * Network namespaces for tests that need a LAN of their own (mDNS, partitions): two namespaces joined by a
 * veth pair that never exists on the host, so no packet reaches the machine's real interfaces.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

/** `ip ARGS…`; resolves with its stdout. */
export async function ip(...args: string[]): Promise<string> {
  return (await execFileAsync('ip', args)).stdout
}

/** One end of the pair: its namespace, its veth's name there, and its address (a /24). */
export interface NetnsEnd {
  ns: string
  veth: string
  ip: string
}

/**
 * Makes both namespaces (each pushed onto `created` at once, so a failure half-way is still cleaned up) and
 * the veth pair between them, born inside the namespaces; loopback and both ends up and addressed. Resolves
 * with the names of the links each namespace then has.
 *
 * @example
 * const links = await joinNamespaces([a, b], created) // [['kma1', 'lo'], ['kmb1', 'lo']]
 */
export async function joinNamespaces(
  ends: readonly [NetnsEnd, NetnsEnd],
  created: string[],
): Promise<string[][]> {
  const [a, b] = ends
  for (const end of ends) {
    await ip('netns', 'add', end.ns)
    created.push(end.ns)
  }
  await ip('link', 'add', a.veth, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.veth, 'netns', b.ns)
  const links: string[][] = []
  for (const end of ends) {
    await ip('-n', end.ns, 'link', 'set', 'lo', 'up')
    await ip('-n', end.ns, 'addr', 'add', `${end.ip}/24`, 'dev', end.veth)
    await ip('-n', end.ns, 'link', 'set', end.veth, 'up')
    links.push(
      (await ip('-n', end.ns, '-o', 'link', 'show'))
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
        .sort(),
    )
  }
  return links
}

/** Deletes the namespaces in `created` (emptying it), newest first; failures go into `errors`. */
export async function deleteNamespaces(created: string[], errors: unknown[]): Promise<void> {
  while (created.length > 0) {
    const ns = created.pop() as string
    // deleting a namespace destroys its veth end, and with it the peer end in the other namespace
    await ip('netns', 'del', ns).catch((err: unknown) => errors.push(err))
  }
}
