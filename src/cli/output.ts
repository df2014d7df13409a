/**
 * Human-readable output of the client verbs: aligned tables, short peer ids, human units, colours on a
 * terminal only. `--json` prints the API's answer as it is instead. Each `format*` is pure (given a style and
 * the clock), each `print*` writes to stdout. Text that other peers wrote (names, titles, error messages)
 * passes through `clean` first: it reaches the terminal without its control characters and escapes.
 */
import type { NodeStatus } from '../api/routes.ts'
import type { TaskRecord } from '../api/tasks.ts'
import type { PeerInfo } from '../connectivity/peers.ts'
import { ago, createStyle, duration, shortPeer, type Style, styleFor, table, truncate } from './format.ts'
import { terminalText as clean, terminalJson } from './terminal-text.ts'

/** How a verb prints: JSON, or a table styled for stdout. */
export interface PrintOptions {
  json?: boolean
  style?: Style
}

const TITLE_WIDTH = 44
const plain = createStyle(false)

function emit(value: unknown, options: PrintOptions, format: (style: Style) => string): void {
  if (options.json === true) console.log(terminalJson(value))
  else console.log(format(options.style ?? styleFor(process.stdout)))
}

function statusWord(status: string, style: Style): string {
  if (status === 'ok') return style.green(status)
  if (status === 'skipped' || status === 'busy') return style.yellow(status)
  return style.red(status)
}

function riskWord(risk: string, style: Style): string {
  return risk === 'high' ? style.red(risk) : risk === 'medium' ? style.yellow(risk) : risk
}

function provider(peer: string | undefined, local: boolean | undefined, style: Style): string {
  if (peer == null) return '-'
  return local === true ? style.cyan('this node') : shortPeer(peer)
}

/** `kith status`: the node's id, version, uptime, connections and addresses, one per row. */
export function formatStatus(s: NodeStatus, style: Style = plain): string {
  return table(
    [
      ['peer id', s.peerId],
      ['name', s.name ?? '-'],
      ['version', s.version],
      ['uptime', duration(s.uptimeMs)],
      ['connections', String(s.connections)],
      ['mdns', s.mdns ? 'on' : 'off'],
      ['dht', s.dht],
      ...s.listen.map((a, i) => [i === 0 ? 'listen' : '', a]),
    ].map(([k, v]) => [style.dim(k ?? ''), v ?? '']),
  )
}

/**
 * @example
 * printStatus(await client.get('/v1/status'), { json: false })
 */
export function printStatus(value: unknown, options: PrintOptions = {}): void {
  emit(value, options, (style) => formatStatus(value as NodeStatus, style))
}

/** `kith peers`: one row per connected peer, its id shortened. */
export function formatPeers(peers: PeerInfo[], style: Style = plain, now = Date.now()): string {
  if (peers.length === 0) return 'no peers connected'
  return table(
    [
      ['PEER', 'NAME', 'DIRECTION', 'SINCE', 'STREAMS', 'ADDRESS'],
      ...peers.map((p) => [
        shortPeer(p.peerId),
        clean(p.name ?? '-'),
        p.direction + (p.relayed ? ' (relayed)' : ''),
        ago(now - p.since),
        String(p.streams),
        style.dim(clean(p.addrs[0] ?? '')),
      ]),
    ],
    { header: true, style, right: [3, 4] },
  )
}

/**
 * @example
 * printPeers(await client.get('/v1/peers'))
 */
export function printPeers(value: unknown, options: PrintOptions = {}): void {
  emit(value, options, (style) => formatPeers((value as { peers: PeerInfo[] }).peers, style))
}

interface MatchView {
  peer: string
  local: boolean
  score: number
  capability: { id: string; title: string; kind: string; risk: string }
}

/**
 * `kith find`: ranked capabilities with their provider.
 *
 * @example
 * formatMatches([]) // 'nothing in the network matches'
 */
export function formatMatches(matches: MatchView[], style: Style = plain): string {
  if (matches.length === 0) return 'nothing in the network matches'
  return table(
    [
      ['#', 'SCORE', 'CAPABILITY', 'TITLE', 'KIND', 'RISK', 'PROVIDER'],
      ...matches.map((m, i) => [
        String(i + 1),
        m.score.toFixed(3),
        style.bold(clean(m.capability.id)),
        truncate(clean(m.capability.title), TITLE_WIDTH),
        clean(m.capability.kind),
        riskWord(clean(m.capability.risk), style),
        provider(m.peer, m.local, style),
      ]),
    ],
    { header: true, style, right: [1] },
  )
}

/**
 * @example
 * printMatches(await client.get('/v1/capabilities?q=lamp'), { json: true })
 */
export function printMatches(value: unknown, options: PrintOptions = {}): void {
  emit(value, options, (style) => formatMatches((value as { matches: MatchView[] }).matches, style))
}

/** `kith call`: who ran the task, at which tier, with which checks and attempts; then its output. */
export function formatTask(t: TaskRecord, style: Style = plain): string {
  const checkWord = (result: string) =>
    result === 'pass' ? style.green(result) : result === 'fail' ? style.red(result) : style.yellow(result)
  const rows = [
    ['task', style.dim(t.id)],
    ['status', statusWord(t.status, style)],
    ['provider', provider(t.provider, t.local, style)],
    ['tier', t.tier == null ? '-' : String(t.tier)],
    ['fallbacks', String(t.fallbacks)],
    ...t.attempts.map((a, i) => [
      i === 0 ? 'attempts' : '',
      `${shortPeer(a.peer)}  ${statusWord(a.status, style)}  ${duration(a.ms)}`,
    ]),
    ...(t.checks ?? []).map((c, i) => [
      i === 0 ? 'checks' : '',
      `${clean(c.name)} ${checkWord(clean(c.result))} ${shortPeer(c.peer)}${c.reason != null ? ` (${clean(c.reason)})` : ''}`,
    ]),
  ]
  const head = table(rows.map(([k, v]) => [style.dim(k ?? ''), v ?? '']))
  return t.ok ? `${head}\n${terminalJson(t.output)}` : head
}

/** Prints a task's outcome; a failed one also gets its error line on stderr (the caller sets the exit code). */
export function printTask(value: unknown, options: PrintOptions = {}): void {
  emit(value, options, (style) => formatTask(value as TaskRecord, style))
  const t = value as TaskRecord
  if (!t.ok) printError(t.error?.code ?? t.status, t.error?.message ?? 'the task failed')
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

/** `kith run`: a row per step, the outcome line, then the workflow's output. */
export function formatWorkflow(w: WorkflowView, style: Style = plain): string {
  const steps = table(
    [
      ['STEP', 'STATUS', 'PROVIDER', 'TIER', 'TIME', 'FALLBACKS', 'ERROR'],
      ...w.steps.map((s) => [
        s.id,
        statusWord(s.status, style),
        provider(s.provider, s.local, style),
        s.tier == null ? '-' : String(s.tier),
        duration(s.ms),
        String(s.fallbacks),
        s.error == null ? '' : style.red(clean(`${s.error.code}: ${s.error.message}`)),
      ]),
    ],
    { header: true, style, right: [3, 4, 5] },
  )
  const outcome = w.ok ? style.green('ok') : style.red(`failed (${w.error?.code ?? 'error'})`)
  const lines = [steps, `workflow ${w.name}: ${outcome} in ${duration(w.ms)}`]
  if (w.ok && w.output !== undefined) lines.push(terminalJson(w.output))
  return lines.join('\n')
}

/** Prints a workflow's outcome; a failed one also gets its error line on stderr. */
export function printWorkflow(value: unknown, options: PrintOptions = {}): void {
  emit(value, options, (style) => formatWorkflow(value as WorkflowView, style))
  const w = value as WorkflowView
  if (!w.ok) printError(w.error?.code ?? 'failed', w.error?.message ?? `workflow ${w.name} failed`)
}

/**
 * The one line an error gets on stderr: `kith: <code>: <message>`, the code red on a terminal.
 *
 * @example
 * printError('not_found', 'no provider offers lamp.on') // kith: not_found: no provider offers lamp.on
 */
export function printError(code: string, message: string): void {
  process.stderr.write(`${formatError(code, message, styleFor(process.stderr))}\n`)
}

/**
 * One line, whatever the message holds (a task's error comes from the peer that ran it).
 *
 * @example
 * formatError('busy', 'every provider is busy') // 'kith: busy: every provider is busy'
 */
export function formatError(code: string, message: string, style: Style = plain): string {
  return `kith: ${style.red(clean(code))}: ${clean(message)}`
}
