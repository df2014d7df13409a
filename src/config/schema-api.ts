/** `api:`: the node's local HTTP API (docs/http-api.md), its token and its limits. */
import { z } from 'zod'
import { DEFAULT_API, hostPort } from './schema-values.ts'

const api = z.strictObject({
  listen: hostPort.default(DEFAULT_API).meta({
    description:
      'Where the HTTP API and the dashboard listen. Beyond loopback (e.g. 0.0.0.0:7700) api.token or ' +
      'api.tokenFile is required.',
    examples: ['0.0.0.0:7700'],
  }),
  token: z.string().min(16, 'a token must be at least 16 characters').optional().meta({
    description:
      'The bearer token every request but /healthz and the agent card must carry; at least 16 characters.',
  }),
  tokenFile: z
    .string()
    .min(1)
    .optional()
    .meta({
      description:
        'A file whose first line is the token, instead of writing it here (relative to this file).',
      examples: ['api.token'],
    }),
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(1024 * 1024)
    .meta({ description: 'The largest request body accepted (bytes); a larger one is answered 413.' }),
  maxConnections: z.number().int().min(1).max(4096).default(64).meta({
    description:
      "Sockets open at once. A quarter of them stays for this machine's own clients (127.0.0.1, ::1).",
  }),
  maxConnectionsPerAddress: z
    .number()
    .int()
    .min(1)
    .max(4096)
    .default(16)
    .meta({ description: 'Sockets open at once from any one host other than this machine.' }),
  firstByteTimeoutMs: z
    .number()
    .int()
    .min(100)
    .max(60_000)
    .default(5_000)
    .meta({
      description:
        'A socket that sends no byte for this long after connecting is closed with 408 (ms), so idle ' +
        'sockets cannot fill the cap.',
    }),
})

/** `api:`, a map or the `HOST:PORT` shorthand for `api.listen`. */
export const apiSection = z
  .preprocess((v) => (typeof v === 'string' ? { listen: v } : v), api)
  .prefault({})
  .meta({
    description:
      'The local HTTP API (docs/http-api.md). `api: HOST:PORT` is short for `api: {listen: HOST:PORT}`.',
    examples: ['127.0.0.1:7700'],
  })
