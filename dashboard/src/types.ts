/**
 * The shapes of the node's HTTP API as the dashboard reads them (src/api on the node side). Fields the
 * node may not send yet are optional, so each view can say "unknown" instead of breaking.
 */

export interface Health {
  status: string
  peerId: string
  version: string
  uptimeMs: number
}

export interface Status {
  peerId: string
  name?: string
  version: string
  startedAt: number
  uptimeMs: number
  listen: string[]
  connections: number
  mdns: boolean
  dht: string
  /** this node's clock against its peers' (positive offset: this node is behind) */
  clock?: ClockEstimate
}

export interface ClockEstimate {
  offsetMs: number
  peers: number
  suspect: boolean
  outliers: Array<{ peer: string; offsetMs: number }>
}

export interface Connection {
  peerId: string
  addrs: string[]
  direction: 'inbound' | 'outbound'
  relayed: boolean
  since: number
  streams: number
  /** the name the peer gave itself over identify: display only, not signed */
  name?: string
}

export type CapKind = 'script' | 'device' | 'sensor'
export type Risk = 'low' | 'medium' | 'high'

/** A JSON Schema, carried opaquely; schema-form.tsx reads the few keywords it can render. */
export type JsonSchema = Record<string, unknown>

export interface Capability {
  id: string
  title: string
  description: string
  tags: string[]
  kind: CapKind
  risk: Risk
  input: JsonSchema
  output: JsonSchema
  deterministic?: boolean
}

export interface NodeState {
  load: number
  memFree: number
  queue: number
  battery?: number
  charging?: boolean
  thermal?: number
}

export interface Descriptor {
  v: number
  peer: string
  seq: number
  iat: number
  ttl: number
  addrs: string[]
  state: NodeState
  caps: Capability[]
  attest: { tpm: boolean; akPub?: string }
  receivedAt: number
  expiresAt: number
  /** the name the peer gave itself over identify: not part of the signed descriptor */
  name?: string
}

export interface Descriptors {
  now?: number
  descriptors: Descriptor[]
}

export interface Reading {
  value: unknown
  at: number
  ageMs: number
}

export interface Device {
  id: string
  title: string
  source: string
  online: boolean
  capabilities: string[]
  readings: Record<string, Reading>
}

export interface Devices {
  broker?: string
  connected?: boolean
  devices: Device[]
  commands?: Record<string, number>
}

export interface OutcomeCount {
  weight: number
  count: number
}

export interface TrustTopic {
  topic: string
  /** absent or null when this node observed nothing on the topic */
  counts?: Record<string, OutcomeCount> | null
  local: number
  global: number
  trust: number
}

export interface TrustPeer {
  peer: string
  caught: boolean
  topics: TrustTopic[]
}

export interface CapabilityTrust {
  peer: string
  capability: string
  topic: string
  trust: number
  caught: boolean
}

export interface Trust {
  now?: number
  self?: string
  peers: TrustPeer[]
  capabilities: CapabilityTrust[]
}

export interface Check {
  name: string
  result: 'pass' | 'fail' | 'skipped'
  peer?: string
  reason?: string
}

export interface Attempt {
  peer: string
  local: boolean
  status: string
  ms: number
  error?: string
}

export interface ApiErrorBody {
  code: string
  message: string
}

export interface TaskResult {
  ok: boolean
  status: string
  provider?: string
  capability?: string
  local?: boolean
  tier?: number
  checks?: Check[]
  attempts?: Attempt[]
  error?: ApiErrorBody
}

export interface Task {
  id: string
  direction: 'in' | 'out'
  peer?: string
  cap: string
  status: string
  error?: string
  createdAt: number
  startedAt?: number
  endedAt?: number
  attempts?: number
  deadline?: number
  result?: TaskResult
}

export interface Tasks {
  tasks: Task[]
}

/** The answer of `POST /v1/tasks`. */
export interface RunResult {
  id?: string
  ok: boolean
  status: string
  output?: unknown
  error?: ApiErrorBody
  provider?: string
  capability?: string
  tier?: number
  checks?: Check[]
  attempts?: Attempt[]
  fallbacks?: number
}
