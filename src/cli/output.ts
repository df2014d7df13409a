/** Human-readable output of the client verbs; `--json` prints the API's answer as it is. */
import type { NodeStatus } from '../api/routes.ts'
import type { PeerInfo } from '../connectivity/peers.ts'

/** Left-aligned columns separated by two spaces. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

function ago(ms: number): string {
  const s = Math.round(ms / 1000)
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`
}

export function printStatus(value: unknown, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(value, null, 2))
    return
  }
  const s = value as NodeStatus
  console.log(
    table([
      ['peer id', s.peerId],
      ['name', s.name ?? '-'],
      ['version', s.version],
      ['uptime', ago(s.uptimeMs)],
      ['connections', String(s.connections)],
      ['mdns', s.mdns ? 'on' : 'off'],
      ['dht', s.dht],
      ...s.listen.map((a, i) => [i === 0 ? 'listen' : '', a]),
    ]),
  )
}

export function printPeers(value: unknown, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(value, null, 2))
    return
  }
  const peers = (value as { peers: PeerInfo[] }).peers
  if (peers.length === 0) {
    console.log('no peers connected')
    return
  }
  const now = Date.now()
  console.log(
    table([
      ['PEER', 'DIRECTION', 'SINCE', 'STREAMS', 'ADDRESS'],
      ...peers.map((p) => [
        p.peerId,
        p.direction + (p.relayed ? ' (relayed)' : ''),
        ago(now - p.since),
        String(p.streams),
        p.addrs[0] ?? '',
      ]),
    ]),
  )
}

interface MatchView {
  peer: string
  local: boolean
  score: number
  capability: { id: string; title: string; kind: string; risk: string }
  parts: Record<string, number>
}

export function printMatches(value: unknown, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(value, null, 2))
    return
  }
  const matches = (value as { matches: MatchView[] }).matches
  if (matches.length === 0) {
    console.log('nothing in the network matches')
    return
  }
  const short = (peer: string) => `…${peer.slice(-8)}`
  console.log(
    table([
      ['#', 'SCORE', 'CAPABILITY', 'TITLE', 'KIND', 'RISK', 'PROVIDER'],
      ...matches.map((m, i) => [
        String(i + 1),
        m.score.toFixed(3),
        m.capability.id,
        m.capability.title,
        m.capability.kind,
        m.capability.risk,
        m.local ? 'this node' : short(m.peer),
      ]),
    ]),
  )
}

interface TaskView {
  id: string
  ok: boolean
  status: string
  output?: unknown
  error?: { code: string; message: string }
  provider?: string
  local?: boolean
  fallbacks: number
  attempts: Array<{ peer: string; status: string; ms: number }>
  tier?: number
  checks?: Array<{ name: string; result: string; peer: string; reason?: string }>
}

export function printTask(value: unknown, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(value, null, 2))
    return
  }
  const t = value as TaskView
  const who = t.provider == null ? '-' : t.local === true ? 'this node' : t.provider
  console.log(
    table([
      ['task', t.id],
      ['status', t.status],
      ['provider', who],
      ['tier', t.tier == null ? '-' : String(t.tier)],
      ['fallbacks', String(t.fallbacks)],
      ...t.attempts.map((a, i) => [
        i === 0 ? 'attempts' : '',
        `${a.peer.slice(-8)} ${a.status} ${a.ms.toFixed(1)} ms`,
      ]),
      ...(t.checks ?? []).map((c, i) => [
        i === 0 ? 'checks' : '',
        `${c.name} ${c.result} …${c.peer.slice(-8)}${c.reason != null ? ` (${c.reason})` : ''}`,
      ]),
    ]),
  )
  if (t.ok) console.log(JSON.stringify(t.output, null, 2))
  else console.log(`error: ${t.error?.code}: ${t.error?.message}`)
}

interface WorkflowView {
  name: string
  ok: boolean
  ms: number
  output?: unknown
  error?: { code: string; message: string }
  steps: Array<{
    id: string
    status: string
    provider?: string
    local?: boolean
    tier?: number
    ms: number
    fallbacks: number
    error?: { code: string; message: string }
  }>
}

export function printWorkflow(value: unknown, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(value, null, 2))
    return
  }
  const w = value as WorkflowView
  console.log(
    table([
      ['STEP', 'STATUS', 'PROVIDER', 'TIER', 'MS', 'FALLBACKS', 'ERROR'],
      ...w.steps.map((s) => [
        s.id,
        s.status,
        s.provider == null ? '-' : s.local === true ? 'this node' : `…${s.provider.slice(-8)}`,
        s.tier == null ? '-' : String(s.tier),
        s.ms.toFixed(1),
        String(s.fallbacks),
        s.error == null ? '' : `${s.error.code}: ${s.error.message}`,
      ]),
    ]),
  )
  console.log(
    `workflow ${w.name}: ${w.ok ? 'ok' : `failed (${w.error?.code ?? 'error'})`} in ${w.ms.toFixed(1)} ms`,
  )
  if (w.ok && w.output !== undefined) console.log(JSON.stringify(w.output, null, 2))
}
