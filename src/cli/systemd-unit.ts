/**
 * The systemd unit that runs kith as a hardened system service. It is built here, in source, rather than read
 * from a file: the installed binary has no repository beside it. `scripts/kith.service` is this function's
 * output for the defaults, kept in the repository for people to read (a unit test keeps the two equal).
 */

export const UNIT_BINARY = '/usr/local/bin/kith'
export const UNIT_CONFIG = '/etc/kith/kith.yaml'
export const UNIT_STATE_DIR = '/var/lib/kith'
export const UNIT_DEFAULTS = { user: 'kith', memoryMax: '256M' } as const

export interface SystemdUnitOptions {
  /** system user and group the node runs as; default `kith` */
  user?: string
  /** systemd's MemoryMax=, e.g. `256M`, `1G`, `50%` or `infinity`; default `256M` */
  memoryMax?: string
  /** extra groups, e.g. `['tss']` where that group exists (it grants /dev/tpmrm0); default none */
  supplementaryGroups?: string[]
  /** the executable; default /usr/local/bin/kith */
  binary?: string
  /** the config file; default /etc/kith/kith.yaml */
  config?: string
}

/** A systemd MemoryMax= value: bytes with an optional K/M/G/T suffix, a percentage, or `infinity`. */
export const MEMORY_MAX = /^(?:\d+[KMGT]?|\d{1,3}(?:\.\d+)?%|infinity)$/

/**
 * The text of `kith.service`.
 *
 * @example
 * const unit = systemdUnit({ supplementaryGroups: ['tss'] })
 * unit.includes('SupplementaryGroups=tss') // true
 */
export function systemdUnit(options: SystemdUnitOptions = {}): string {
  const user = options.user ?? UNIT_DEFAULTS.user
  const memoryMax = options.memoryMax ?? UNIT_DEFAULTS.memoryMax
  if (!MEMORY_MAX.test(memoryMax)) throw new RangeError(`not a systemd MemoryMax= value: ${memoryMax}`)
  const groups = options.supplementaryGroups ?? []
  const binary = options.binary ?? UNIT_BINARY
  const config = options.config ?? UNIT_CONFIG
  const lines = [
    '# kith: a peer-to-peer node for home hubs, as a hardened system service.',
    '# Written by `kith install --systemd`. Change it with a drop-in (`systemctl edit kith`), not here:',
    '# reinstalling rewrites this file.',
    '',
    '[Unit]',
    'Description=kith peer-to-peer capability node',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=exec',
    `User=${user}`,
    `Group=${user}`,
    ...(groups.length > 0
      ? ['# tss owns /dev/tpmrm0: TPM quotes for Tier 3 evidence', `SupplementaryGroups=${groups.join(' ')}`]
      : ['# where the tss group exists, SupplementaryGroups=tss gives TPM access (/dev/tpmrm0)']),
    `ExecStart=${binary} start --config ${config}`,
    '# `systemctl reload kith` re-reads the config: safe changes apply live, the log names those needing a restart',
    'ExecReload=/bin/kill -HUP $MAINPID',
    '# two malloc arenas instead of one per thread: about 3 MiB less memory, no measurable cost',
    'Environment=MALLOC_ARENA_MAX=2',
    '# Logs: JSON lines on stderr, into the journal. Level: log.level in the config, or',
    '# Environment=KITH_LOG_LEVEL=debug in a drop-in.',
    'Restart=on-failure',
    'RestartSec=5',
    'KillSignal=SIGTERM',
    'TimeoutStopSec=15',
    '',
    '# Files: everything read-only but the state directory; config in /etc/kith (root:kith 0750).',
    'ProtectSystem=strict',
    'ProtectHome=yes',
    'PrivateTmp=yes',
    'PrivateMounts=yes',
    `ReadWritePaths=${UNIT_STATE_DIR}`,
    'StateDirectory=kith',
    'StateDirectoryMode=0750',
    'ConfigurationDirectory=kith',
    'ConfigurationDirectoryMode=0750',
    'UMask=0027',
    '',
    '# Devices: none but the standard pseudo-devices and the TPM resource manager.',
    'PrivateDevices=no',
    'DevicePolicy=closed',
    'DeviceAllow=/dev/tpmrm0 rw',
    '',
    '# Kernel and privileges',
    'NoNewPrivileges=yes',
    '# No capabilities. An api or mqtt listen port below 1024 would need CAP_NET_BIND_SERVICE: add',
    '# AmbientCapabilities=CAP_NET_BIND_SERVICE and CapabilityBoundingSet=CAP_NET_BIND_SERVICE in a drop-in.',
    'CapabilityBoundingSet=',
    'AmbientCapabilities=',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'ProtectProc=invisible',
    'RemoveIPC=yes',
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    '# AF_NETLINK: network interface enumeration (listen addresses, mDNS)',
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
    'SystemCallArchitectures=native',
    'SystemCallFilter=@system-service',
    'SystemCallErrorNumber=EPERM',
    "# MemoryDenyWriteExecute=yes is left out on purpose: V8's JIT and WebAssembly (the QuickJS sandbox of",
    '# script capabilities) need memory that is writable and executable; --jitless would break WebAssembly.',
    '',
    '# Resources',
    `MemoryMax=${memoryMax}`,
    'LimitNOFILE=4096',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ]
  return `${lines.join('\n')}\n`
}
