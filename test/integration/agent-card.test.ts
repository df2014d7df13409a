/**
 * The A2A agent card: its shape against the A2A 0.3.0 AgentCard schema, its JWS (EdDSA over the JCS form,
 * kid = peer id) checked with node:crypto alone, and the JCS canonical form itself (RFC 8785).
 */
import { createPublicKey, verify } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { Ajv } from 'ajv'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type AgentCard,
  type AgentCardInit,
  agentCardRoute,
  type AgentCardView,
} from '../../src/api/agent-card.ts'
import { createHttpServer, type Request, type Route } from '../../src/api/http.ts'
import { canonicalJson } from '../../src/api/jcs.ts'
import { createIdentity, type Identity } from '../../src/connectivity/identity.ts'
import type { Capability } from '../../src/discovery/descriptor.ts'
import { tempDir } from '../helpers.ts'

/** The AgentCard of A2A 0.3.0 (specification/json/a2a.json), as far as a card of kith's can use it. */
const SCHEMA = {
  $id: 'AgentCard',
  type: 'object',
  required: [
    'capabilities',
    'defaultInputModes',
    'defaultOutputModes',
    'description',
    'name',
    'protocolVersion',
    'skills',
    'url',
    'version',
  ],
  properties: {
    name: { type: 'string' },
    description: { type: 'string' },
    url: { type: 'string' },
    version: { type: 'string' },
    protocolVersion: { type: 'string' },
    preferredTransport: { type: 'string' },
    additionalInterfaces: {
      type: 'array',
      items: {
        type: 'object',
        required: ['transport', 'url'],
        properties: { transport: { type: 'string' }, url: { type: 'string' } },
      },
    },
    capabilities: {
      type: 'object',
      properties: {
        streaming: { type: 'boolean' },
        pushNotifications: { type: 'boolean' },
        stateTransitionHistory: { type: 'boolean' },
        extensions: {
          type: 'array',
          items: {
            type: 'object',
            required: ['uri'],
            properties: {
              uri: { type: 'string' },
              description: { type: 'string' },
              required: { type: 'boolean' },
              params: { type: 'object' },
            },
          },
        },
      },
    },
    defaultInputModes: { type: 'array', items: { type: 'string' } },
    defaultOutputModes: { type: 'array', items: { type: 'string' } },
    skills: {
      type: 'array',
      items: {
        type: 'object',
        required: ['description', 'id', 'name', 'tags'],
        properties: {
          id: { type: 'string' },
          name: { type: 'string' },
          description: { type: 'string' },
          tags: { type: 'array', items: { type: 'string' } },
          examples: { type: 'array', items: { type: 'string' } },
          inputModes: { type: 'array', items: { type: 'string' } },
          outputModes: { type: 'array', items: { type: 'string' } },
        },
      },
    },
    securitySchemes: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['type'],
        properties: { type: { enum: ['apiKey', 'http', 'oauth2', 'openIdConnect', 'mutualTLS'] } },
      },
    },
    signatures: {
      type: 'array',
      items: {
        type: 'object',
        required: ['protected', 'signature'],
        properties: {
          protected: { type: 'string' },
          signature: { type: 'string' },
          header: { type: 'object' },
        },
      },
    },
  },
}
const validate = new Ajv({ allErrors: true }).compile(SCHEMA)

const cap = (id: string, extra: Partial<Capability> = {}): Capability => ({
  id,
  title: `The ${id}`,
  description: `does ${id}`,
  tags: ['home'],
  kind: 'script',
  risk: 'low',
  input: {},
  output: {},
  ...extra,
})

let identity: Identity
let cleanup: () => Promise<void>
beforeAll(async () => {
  let dir: string
  ;({ dir, cleanup } = await tempDir('kith-card-'))
  identity = await createIdentity(join(dir, 'identity.key'))
})
afterAll(() => cleanup())

function route(view: AgentCardView): { route: Route; card: () => AgentCard; init: AgentCardInit } {
  const init: AgentCardInit = {
    peerId: identity.peerId.toString(),
    publicKey: identity.publicKey,
    version: '0.1.0',
    sign: identity.sign,
    describe: () => view,
  }
  const r = agentCardRoute(init)
  return { route: r, init, card: () => r.handle({} as Request) as AgentCard }
}

/** A2A §8.4.3, with node:crypto only: the key from the kid (a peer id is its public key). */
function verifies(card: AgentCard): boolean {
  const { signatures, ...body } = card
  const sig = signatures?.[0]
  if (sig == null) return false
  const header = JSON.parse(Buffer.from(sig.protected, 'base64url').toString('utf8')) as Record<
    string,
    string
  >
  if (header.alg !== 'EdDSA') return false
  const raw = peerIdFromString(header.kid ?? '').publicKey?.raw
  if (raw == null) return false
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  })
  const input = `${sig.protected}.${Buffer.from(canonicalJson(body)).toString('base64url')}`
  return verify(null, Buffer.from(input), key, Buffer.from(sig.signature, 'base64url'))
}

describe('agent card', () => {
  const view: AgentCardView = {
    name: 'hall-hub',
    apiUrl: 'http://127.0.0.1:7700',
    tokenRequired: false,
    capabilities: [
      cap('double', { input: { type: 'object', examples: [{ x: 21 }, 'double 4'] } }),
      cap('lamp.on', { kind: 'device', risk: 'high', description: '' }),
    ],
  }

  it('validates against the A2A AgentCard schema, one skill per capability', () => {
    const card = route(view).card()
    expect(validate(card), JSON.stringify(validate.errors)).toBe(true)
    expect(card).toMatchObject({
      name: 'hall-hub',
      url: 'http://127.0.0.1:7700',
      version: '0.1.0',
      protocolVersion: '0.3.0',
      capabilities: { streaming: false, pushNotifications: false },
      defaultInputModes: ['application/json'],
      defaultOutputModes: ['application/json'],
    })
    expect(card.skills).toEqual([
      {
        id: 'double',
        name: 'The double',
        description: 'does double',
        tags: ['home', 'script', 'risk:low'],
        examples: ['{"x":21}', 'double 4'],
        inputModes: ['application/json'],
        outputModes: ['application/json'],
      },
      {
        id: 'lamp.on',
        name: 'The lamp.on',
        description: 'The lamp.on',
        tags: ['home', 'device', 'risk:high'],
        inputModes: ['application/json'],
        outputModes: ['application/json'],
      },
    ])
    expect(card.capabilities.extensions[0]?.params).toMatchObject({
      peerId: identity.peerId.toString(),
      mcp: 'http://127.0.0.1:7700/mcp',
    })
    expect(card.securitySchemes).toBeUndefined()
  })

  it('is signed with the node key: EdDSA, kid = peer id, over the JCS form without signatures', () => {
    const card = route(view).card()
    expect(card.signatures).toHaveLength(1)
    const header = JSON.parse(Buffer.from(card.signatures![0]!.protected, 'base64url').toString('utf8'))
    expect(header).toEqual({ alg: 'EdDSA', kid: identity.peerId.toString(), typ: 'JOSE' })
    expect(verifies(card)).toBe(true)
    // the key in the extension is the identity's, the same one the kid encodes
    const jwk = card.capabilities.extensions[0]?.params.publicKeyJwk as { x: string }
    expect(Buffer.from(jwk.x, 'base64url')).toEqual(Buffer.from(identity.publicKey))
  })

  it('a verifier that re-orders the members still verifies it; any change breaks it', () => {
    const card = route(view).card()
    const reverse = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reverse)
        : v != null && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reverse(x)]),
            )
          : v
    const reordered = JSON.parse(JSON.stringify(reverse(card))) as AgentCard
    expect(Object.keys(reordered)[0]).toBe('signatures')
    expect(verifies(reordered)).toBe(true)
    const copy = () => structuredClone(card)
    const tampered = [
      { ...copy(), url: 'http://evil.example:7700' },
      { ...copy(), name: 'hall-hub ' },
      (() => {
        const c = copy()
        c.skills[0]!.tags.push('trusted')
        return c
      })(),
      (() => {
        const c = copy()
        c.skills.pop()
        return c
      })(),
      (() => {
        const c = copy()
        const sig = Buffer.from(c.signatures![0]!.signature, 'base64url')
        sig[0] = (sig[0] ?? 0) ^ 1
        c.signatures![0]!.signature = sig.toString('base64url')
        return c
      })(),
    ]
    for (const t of tampered) expect(verifies(t)).toBe(false)
  })

  it('holds no default value a verifier would drop before canonicalizing (A2A §8.4.1)', () => {
    const bare = route({ apiUrl: 'http://127.0.0.1:7700', tokenRequired: false, capabilities: [] }).card()
    expect(bare.name).toBe(identity.peerId.toString())
    const walk = (value: unknown, path: string): void => {
      if (Array.isArray(value)) {
        // `skills` and `tags` are required, so an empty list of them stays
        if (value.length === 0) expect(['skills'], path).toContain(path.split('.').at(-1))
        value.forEach((v, i) => walk(v, `${path}.${i}`))
      } else if (value != null && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`)
      } else if (typeof value === 'string') expect(value, path).not.toBe('')
    }
    walk(bare, 'card')
    walk(route(view).card(), 'card')
  })

  it('signs once and again only when the card changes', () => {
    const live = { ...view, capabilities: [...view.capabilities] }
    const r = route(live)
    let signings = 0
    const sign = r.init.sign
    r.init.sign = (data) => {
      signings++
      return sign(data)
    }
    const first = r.card()
    expect(r.card()).toBe(first)
    expect(signings).toBe(1)
    live.capabilities = [...live.capabilities, cap('triple')]
    const second = r.card()
    expect(signings).toBe(2)
    expect(second.skills.map((s) => s.id)).toEqual(['double', 'lamp.on', 'triple'])
    expect(verifies(second)).toBe(true)
    expect(r.card()).toBe(second)
  })

  it('names the bearer scheme when the API wants a token, and is served without one', async () => {
    const card = route({ ...view, tokenRequired: true })
    expect(card.card().securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    })
    expect(validate(card.card())).toBe(true)
    const server: Server = createHttpServer({
      routes: [card.route, { method: 'GET', path: '/v1/status', handle: () => ({}) }],
      token: 'a-token-of-sixteen-chars',
      maxBodyBytes: 1024,
      maxConnections: 8,
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const res = await fetch(`${base}/.well-known/agent-card.json`)
      expect(res.status).toBe(200)
      expect(verifies((await res.json()) as AgentCard)).toBe(true)
      expect((await fetch(`${base}/v1/status`)).status).toBe(401)
    } finally {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    }
  })

  it('shows an API bound to every interface at an address other machines can reach', () => {
    const card = route({ ...view, apiUrl: 'http://0.0.0.0:7700' }).card()
    expect(card.url).toMatch(/^http:\/\/\d+\.\d+\.\d+\.\d+:7700$/)
    expect(card.url).not.toContain('0.0.0.0')
  })
})

describe('canonicalJson (RFC 8785)', () => {
  it('sorts members at every level and keeps array order', () => {
    expect(canonicalJson({ b: { z: 1, a: [{ y: true, x: null }] }, a: 'x', c: [3, 1, 2] })).toBe(
      '{"a":"x","b":{"a":[{"x":null,"y":true}],"z":1},"c":[3,1,2]}',
    )
    expect(canonicalJson([56, { d: true, 10: null, 1: [] }])).toBe('[56,{"1":[],"10":null,"d":true}]')
  })

  it('orders keys by UTF-16 code units (RFC 8785 §3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    }
    // (not through Object.keys of the parsed text: JavaScript lists the integer-like key "1" first)
    const order = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']
    const expected = order.map(
      (k) => `${JSON.stringify(k)}:${JSON.stringify(input[k as keyof typeof input])}`,
    )
    expect(canonicalJson(input)).toBe(`{${expected.join(',')}}`)
  })

  it('writes numbers and strings as ECMAScript does, without whitespace', () => {
    expect(canonicalJson({ n: [333333333.3333333, 1e30, 4.5, 0.002, 1e-27, -0, 100] })).toBe(
      '{"n":[333333333.3333333,1e+30,4.5,0.002,1e-27,0,100]}',
    )
    expect(canonicalJson({ s: '\u20ac$\u000f\nA\'B"\\\\"/' })).toBe('{"s":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')
  })

  it('leaves out undefined members and refuses what JSON cannot hold', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}')
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/no JSON form/)
    expect(() => canonicalJson({ d: new Date(0) })).toThrow(/not plain JSON/)
  })
})
