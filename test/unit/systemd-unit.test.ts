import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { systemdUnit } from '../../src/cli/systemd-unit.ts'
import { ROOT } from '../helpers.ts'

/** The directives of the unit (comments and blank lines left out), in order. */
const directives = (unit: string) => unit.split('\n').filter((l) => l !== '' && !l.startsWith('#'))

describe('systemd unit', () => {
  it('carries every hardening directive', () => {
    const lines = directives(systemdUnit())
    for (const line of [
      '[Service]',
      'Type=exec',
      'User=kith',
      'Group=kith',
      'ExecStart=/usr/local/bin/kith start --config /etc/kith/kith.yaml',
      'Restart=on-failure',
      'RestartSec=5',
      'KillSignal=SIGTERM',
      'TimeoutStopSec=15',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'PrivateDevices=no',
      'DevicePolicy=closed',
      'DeviceAllow=/dev/tpmrm0 rw',
      'ReadWritePaths=/var/lib/kith',
      'StateDirectory=kith',
      'StateDirectoryMode=0750',
      'ConfigurationDirectory=kith',
      'ProtectKernelTunables=yes',
      'ProtectKernelModules=yes',
      'ProtectKernelLogs=yes',
      'ProtectControlGroups=yes',
      'ProtectClock=yes',
      'ProtectHostname=yes',
      'RestrictNamespaces=yes',
      'RestrictRealtime=yes',
      'RestrictSUIDSGID=yes',
      'LockPersonality=yes',
      'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
      'SystemCallArchitectures=native',
      'SystemCallFilter=@system-service',
      'CapabilityBoundingSet=',
      'AmbientCapabilities=',
      'UMask=0027',
      'MemoryMax=256M',
      'LimitNOFILE=4096',
      '[Install]',
      'WantedBy=multi-user.target',
    ]) {
      expect(lines).toContain(line)
    }
  })

  it('leaves MemoryDenyWriteExecute out, and says why', () => {
    const unit = systemdUnit()
    expect(directives(unit).some((l) => l.startsWith('MemoryDenyWriteExecute'))).toBe(false)
    expect(unit).toMatch(/^# MemoryDenyWriteExecute=yes is left out on purpose: V8's JIT and WebAssembly/m)
  })

  it('adds SupplementaryGroups only when asked', () => {
    expect(directives(systemdUnit()).some((l) => l.startsWith('SupplementaryGroups='))).toBe(false)
    expect(directives(systemdUnit({ supplementaryGroups: ['tss'] }))).toContain('SupplementaryGroups=tss')
  })

  it('takes the user and MemoryMax from its options and refuses a MemoryMax systemd would not parse', () => {
    const lines = directives(systemdUnit({ user: 'hub', memoryMax: '1G' }))
    expect(lines).toContain('User=hub')
    expect(lines).toContain('Group=hub')
    expect(lines).toContain('MemoryMax=1G')
    expect(directives(systemdUnit({ memoryMax: '50%' }))).toContain('MemoryMax=50%')
    expect(() => systemdUnit({ memoryMax: '256 MB' })).toThrow(/MemoryMax/)
  })

  it('is what scripts/kith.service holds, so the copy in the repository never drifts', async () => {
    expect(await readFile(join(ROOT, 'scripts/kith.service'), 'utf8')).toBe(systemdUnit())
  })
})
