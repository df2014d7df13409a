/**
 * A virtual device that behaves like real firmware over MQTT, as a program: a Last Will on its availability topic,
 * `online` once connected, an announcement through Home Assistant discovery or Homie v5 (or none, for
 * profile-configured devices), periodic readings, and commands obeyed and confirmed by publishing the new state,
 * retained. The device itself lives in src/devices/virtual/ (the demo household runs it inside the node); this
 * file is its command line and the import path tests and benchmarks use.
 *
 * Run it:  node firmware-bridge/virtual-device.ts --url mqtt://127.0.0.1:1883 --kind plug --id desk-plug
 * Use it:  const device = await startVirtualDevice({ url, kind: 'plug', id: 'desk-plug' })
 */
import { parseArgs } from 'node:util'
import { type Announce, startVirtualDevice } from '../src/devices/virtual/device.ts'
import { KINDS, type VirtualDeviceKind } from '../src/devices/virtual/kinds.ts'

export {
  type Announce,
  type ReceivedCommand,
  startVirtualDevice,
  type VirtualDevice,
  type VirtualDeviceOptions,
} from '../src/devices/virtual/device.ts'
export { type DeviceState, KINDS, type VirtualDeviceKind } from '../src/devices/virtual/kinds.ts'
export { MODELS } from '../src/devices/virtual/models.ts'

const USAGE = `usage: node firmware-bridge/virtual-device.ts --kind KIND --id ID [options]
  --url URL            broker, default mqtt://127.0.0.1:1883 (mqtt://user:password@host:port)
  --kind KIND          ${KINDS.join(' | ')}
  --id ID              device id, e.g. desk-plug
  --announce MODE      homeassistant (default) | homie | none
  --base TOPIC         base topic, default zigbee2mqtt/<id> (kith/<id> for diy-relay, homie/5/<id> for homie)
  --title TEXT         friendly name in the announcement
  --interval MS        reading interval, default 10000; 0 for none
  --never-confirm      record commands but never obey or confirm them
`

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      kind: { type: 'string' },
      id: { type: 'string' },
      announce: { type: 'string', default: 'homeassistant' },
      base: { type: 'string' },
      title: { type: 'string' },
      interval: { type: 'string', default: '10000' },
      'never-confirm': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const kind = values.kind as VirtualDeviceKind | undefined
  const announce = values.announce as Announce
  const interval = Number(values.interval)
  if (values.help || kind == null || values.id == null) {
    process.stderr.write(USAGE)
    return values.help ? 0 : 64
  }
  if (!KINDS.includes(kind) || !['homeassistant', 'homie', 'none'].includes(announce) || !(interval >= 0)) {
    process.stderr.write(`bad --kind, --announce or --interval\n${USAGE}`)
    return 64
  }
  const line = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`)
  const device = await startVirtualDevice({
    url: values.url,
    kind,
    id: values.id,
    announce,
    readingIntervalMs: interval,
    confirm: !values['never-confirm'],
    ...(values.base != null ? { base: values.base } : {}),
    ...(values.title != null ? { title: values.title } : {}),
    onCommand: (command) => line({ event: 'command', ...command }),
  })
  line({ event: 'ready', id: device.id, kind, announce, topics: device.topics })
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await device.stop()
  return 0
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`virtual-device: ${(err as Error).message}\n`)
      process.exit(1)
    },
  )
}
