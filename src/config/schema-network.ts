/** `network:` (libp2p: addresses, peers, connection limits) and `discovery:` (descriptors and their gossip). */
import { z } from 'zod'
import { DEFAULT_LISTEN, dialableMultiaddr, multiaddrString } from './schema-values.ts'

const int = (min: number, max: number) => z.number().int().min(min).max(max)

/** `network:` */
export const networkSection = z
  .strictObject({
    listen: z
      .array(multiaddrString)
      .min(1)
      .max(16)
      .default([DEFAULT_LISTEN])
      .meta({
        description: 'libp2p listen addresses. Use /ip4/0.0.0.0/tcp/7701 to be reachable on the LAN.',
        examples: [['/ip4/0.0.0.0/tcp/7701']],
      }),
    announce: z.array(multiaddrString).max(16).default([]).meta({
      description: 'Addresses to advertise instead of the listen ones (e.g. behind port forwarding).',
    }),
    bootstrap: z
      .array(dialableMultiaddr)
      .max(64)
      .default([])
      .meta({
        description: 'Peers to dial at start, each address ending in /p2p/<peer id>.',
        examples: [['/ip4/192.168.1.20/tcp/7701/p2p/12D3KooW…']],
      }),
    mdns: z.boolean().default(true).meta({
      description: 'Find peers on the LAN by mDNS; off by itself when every listen address is loopback.',
    }),
    dht: z.enum(['off', 'client', 'server']).default('client').meta({
      description: "kith's own DHT (/kith/kad/1.0.0): off, query only (client), or also serve (server).",
    }),
    relay: z
      .strictObject({
        client: z.boolean().default(true).meta({
          description: 'Reach and be reached through circuit relay v2, upgraded to a direct link by DCUtR.',
        }),
        server: z.boolean().default(false).meta({ description: 'Act as a relay for peers behind NAT.' }),
      })
      .prefault({})
      .meta({ description: 'Circuit relay, for peers that cannot dial each other directly.' }),
    maxConnections: int(2, 1024).default(32).meta({
      description:
        'Peer connections at once; small on purpose: a hub talks to a household, not the internet.',
    }),
    maxIncomingPendingConnections: int(1, 256)
      .default(8)
      .meta({ description: 'Incoming connections still in their handshake at once.' }),
    maxParallelDials: int(1, 64).default(4).meta({ description: 'Outgoing dials at once.' }),
    peerCacheSize: int(0, 10_000)
      .default(128)
      .meta({ description: 'Peers remembered in kith.db and dialled again after a restart.' }),
  })
  .prefault({})
  .meta({
    description: 'The libp2p host: where it listens, which peers it dials, how many connections it keeps.',
  })

/** `discovery:` */
export const discoverySection = z
  .strictObject({
    ttl: int(3_000, 3_600_000).default(15_000).meta({
      description: 'How long a descriptor stays live without a refresh (ms); it is refreshed every ttl/3.',
    }),
    mode: z
      .enum(['bodyless', 'flood'])
      .default('bodyless')
      .meta({
        description:
          'bodyless gossips digests and peers pull the bodies; flood gossips whole descriptors and is only a ' +
          'baseline for benchmarks.',
      }),
    version: z
      .union([z.literal(1), z.literal(2)])
      .default(2)
      .meta({
        description:
          'Descriptor wire: 2 (summary and catalog pages, plus a fitted v1 copy for v1-only peers) or 1 (one ' +
          '16 KiB descriptor; capabilities that do not fit are left out). flood speaks v1.',
      }),
    maxDescriptors: int(16, 100_000)
      .default(10_000)
      .meta({ description: 'Descriptors held at once (the soft-state store bound).' }),
    maxClockSkew: int(0, 600_000)
      .default(30_000)
      .meta({ description: 'Clock difference tolerated between peers (ms).' }),
    sampleInterval: int(500, 600_000)
      .default(5_000)
      .meta({ description: 'Time between samples of battery, load, memory and temperature (ms).' }),
  })
  .prefault({})
  .meta({ description: 'How this node advertises its capabilities and learns those of its peers.' })
