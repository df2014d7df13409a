import { describe, expect, it } from 'vitest'
import { configSchema } from '../../src/config/index.ts'
import { allLoopback, mdnsEnabled } from '../../src/connectivity/host.ts'

describe('mDNS switch', () => {
  it('treats loopback-only listen addresses as having no LAN', () => {
    expect(allLoopback(['/ip4/127.0.0.1/tcp/7701'])).toBe(true)
    expect(allLoopback(['/ip6/::1/tcp/1', '/ip4/127.0.0.2/tcp/0'])).toBe(true)
    expect(allLoopback(['/ip4/127.0.0.1/tcp/1', '/p2p-circuit'])).toBe(true)
    expect(allLoopback(['/ip4/127.0.0.1/tcp/1', '/ip4/0.0.0.0/tcp/2'])).toBe(false)
    expect(allLoopback(['/ip4/192.168.1.5/tcp/7701'])).toBe(false)
  })

  it('is off by itself on loopback and on when the node listens on the LAN', () => {
    const loopback = configSchema.parse({}).network
    expect(mdnsEnabled(loopback)).toBe(false)
    const lan = configSchema.parse({ network: { listen: ['/ip4/0.0.0.0/tcp/7701'] } }).network
    expect(mdnsEnabled(lan)).toBe(true)
    const off = configSchema.parse({ network: { listen: ['/ip4/0.0.0.0/tcp/7701'], mdns: false } }).network
    expect(mdnsEnabled(off)).toBe(false)
  })
})
