/**
 * The A2A agent card at `GET /.well-known/agent-card.json` (A2A 0.3.0): this node's capabilities as A2A
 * skills, signed with the node's Ed25519 identity key (A2A §8.4). The signature is a JWS with a detached
 * payload: `protected` = base64url of `{"alg":"EdDSA","kid":<peer id>,"typ":"JOSE"}`, signed over
 * `protected + '.' + base64url(JCS(card without signatures))`. The peer id is the key (an identity multihash
 * of the Ed25519 public key), so a verifier needs nothing but the `kid`; the extension params repeat the key
 * as a JWK for clients that do not parse peer ids.
 *
 * The card is for discovery: kith runs a skill through its own API (`POST /v1/tasks`) or MCP (`/mcp`), not
 * through A2A's message operations. A verifier drops default values before canonicalizing (§8.4.1), so the
 * card never holds an empty optional list or string: what is served is exactly what was signed.
 */
import { networkInterfaces } from 'node:os'
import type { Capability } from '../discovery/descriptor.ts'
import type { Route } from './http.ts'
import { canonicalJson } from './jcs.ts'

export const A2A_PROTOCOL_VERSION = '0.3.0'
/** The extension that carries what A2A has no field for: the peer id, its key, the MCP and OpenAPI URLs. */
export const KITH_EXTENSION_URI = 'urn:kith:a2a:node:1'
/** Most examples a skill shows, from its input schema's `examples`. */
const MAX_EXAMPLES = 3
const JSON_MODES = ['application/json']

export interface AgentSkill {
  id: string
  name: string
  description: string
  tags: string[]
  examples?: string[]
  inputModes: string[]
  outputModes: string[]
}

export interface AgentCardSignature {
  protected: string
  signature: string
}

export interface AgentCard {
  name: string
  description: string
  url: string
  version: string
  protocolVersion: string
  preferredTransport: string
  additionalInterfaces: Array<{ url: string; transport: string }>
  capabilities: {
    streaming: boolean
    pushNotifications: boolean
    extensions: Array<{
      uri: string
      description: string
      required: boolean
      params: Record<string, unknown>
    }>
  }
  defaultInputModes: string[]
  defaultOutputModes: string[]
  skills: AgentSkill[]
  securitySchemes?: Record<string, Record<string, string>>
  signatures?: AgentCardSignature[]
}

/** What the card shows; read again for every request. */
export interface AgentCardView {
  /** the config's `name`; the peer id when absent */
  name?: string
  /** the API's URL as the node listens on it */
  apiUrl: string
  capabilities: readonly Capability[]
  /** the API wants a bearer token (`api.token` is set) */
  tokenRequired: boolean
}

export interface AgentCardInit {
  peerId: string
  /** the raw 32-byte Ed25519 public key of the identity */
  publicKey: Uint8Array
  version: string
  sign(data: Uint8Array): Uint8Array
  describe(): AgentCardView
}

const b64url = (data: string | Uint8Array) => Buffer.from(data).toString('base64url')

/**
 * A URL other machines can use: an API bound to every interface (`0.0.0.0`, `::`) is shown at this
 * machine's first external IPv4 address. The Host header of a request is never used: the card is signed,
 * and a client must not be able to make the node sign a URL of its choosing.
 */
export function advertisedUrl(apiUrl: string): string {
  const url = new URL(apiUrl)
  if (url.hostname !== '0.0.0.0' && url.hostname !== '[::]') return apiUrl.replace(/\/$/, '')
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a != null && a.family === 'IPv4' && !a.internal)
  url.hostname = external?.address ?? '127.0.0.1'
  return url.toString().replace(/\/$/, '')
}

function skillOf(c: Capability): AgentSkill {
  const raw = c.input.examples
  const examples = (Array.isArray(raw) ? raw : [])
    .slice(0, MAX_EXAMPLES)
    .map((e) => (typeof e === 'string' ? e : JSON.stringify(e)))
    .filter((e): e is string => typeof e === 'string' && e !== '')
  return {
    id: c.id,
    name: c.title,
    description: c.description !== '' ? c.description : c.title,
    tags: [...new Set([...c.tags, c.kind, `risk:${c.risk}`])],
    ...(examples.length > 0 ? { examples } : {}),
    inputModes: JSON_MODES,
    outputModes: JSON_MODES,
  }
}

/**
 * The card without signatures.
 *
 * @example
 * const card = buildAgentCard({ apiUrl: 'http://127.0.0.1:7700', capabilities: caps, tokenRequired: false }, { peerId, publicKey, version: '0.1.0' })
 */
export function buildAgentCard(
  view: AgentCardView,
  node: Pick<AgentCardInit, 'peerId' | 'publicKey' | 'version'>,
): AgentCard {
  const url = advertisedUrl(view.apiUrl)
  const n = view.capabilities.length
  return {
    name: view.name ?? node.peerId,
    description:
      `kith node ${node.peerId}: ${n} ${n === 1 ? 'capability' : 'capabilities'} shared with a peer-to-peer ` +
      `network of home hubs. Run a skill through the kith API (POST ${url}/v1/tasks with ` +
      `{"capability": skill id, "input": …}) or MCP (${url}/mcp).`,
    url,
    version: node.version,
    protocolVersion: A2A_PROTOCOL_VERSION,
    preferredTransport: 'HTTP+JSON',
    additionalInterfaces: [
      { url, transport: 'HTTP+JSON' },
      { url: `${url}/mcp`, transport: 'MCP' },
    ],
    capabilities: {
      streaming: false,
      pushNotifications: false,
      extensions: [
        {
          uri: KITH_EXTENSION_URI,
          description: 'the kith node behind this card: its libp2p peer id (the signing key) and endpoints',
          required: false,
          params: {
            peerId: node.peerId,
            publicKeyJwk: { kty: 'OKP', crv: 'Ed25519', x: b64url(node.publicKey) },
            mcp: `${url}/mcp`,
            openapi: `${url}/openapi.json`,
            tasks: `${url}/v1/tasks`,
          },
        },
      ],
    },
    defaultInputModes: JSON_MODES,
    defaultOutputModes: JSON_MODES,
    skills: view.capabilities.map(skillOf),
    ...(view.tokenRequired
      ? {
          securitySchemes: {
            bearer: {
              type: 'http',
              scheme: 'bearer',
              description: 'the api.token of the node, for every endpoint but this card and /healthz',
            },
          },
        }
      : {}),
  }
}

/** The signed payload: the card's JCS form without `signatures`. */
export function agentCardPayload(card: AgentCard): string {
  const { signatures: _, ...rest } = card
  return canonicalJson(rest)
}

/**
 * The card with one signature by `sign` (Ed25519), `kid` = the peer id.
 *
 * @example
 * const signed = signAgentCard(card, { kid: identity.peerId.toString(), sign: identity.sign })
 */
export function signAgentCard(
  card: AgentCard,
  key: { kid: string; sign(data: Uint8Array): Uint8Array },
): AgentCard {
  const header = b64url(canonicalJson({ alg: 'EdDSA', kid: key.kid, typ: 'JOSE' }))
  const input = `${header}.${b64url(agentCardPayload(card))}`
  const signature = b64url(key.sign(new TextEncoder().encode(input)))
  const { signatures: _, ...rest } = card
  return { ...rest, signatures: [{ protected: header, signature }] }
}

/**
 * The route of the card. It needs no token: A2A clients fetch cards before they hold any credential, and
 * the card says only what the node's descriptor already tells the whole network. The signed card is kept
 * and signed again only when its content changes (capabilities, name, URL).
 */
export function agentCardRoute(init: AgentCardInit): Route {
  let payload = ''
  let signed: AgentCard | undefined
  return {
    method: 'GET',
    path: '/.well-known/agent-card.json',
    open: true,
    doc: {
      summary: "This node's A2A agent card: its capabilities as skills, signed with the node's key",
      description: 'No token needed. JWS (EdDSA, kid = peer id) over the JCS form of the card (A2A §8.4).',
    },
    handle: () => {
      const card = buildAgentCard(init.describe(), init)
      const next = agentCardPayload(card)
      if (signed === undefined || next !== payload) {
        signed = signAgentCard(card, { kid: init.peerId, sign: init.sign })
        payload = next
      }
      return signed
    },
  }
}
