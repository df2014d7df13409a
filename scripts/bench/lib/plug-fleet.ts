/**
 * Child program of the households benchmark: starts COUNT virtual smart plugs (firmware-bridge/
 * virtual-device.ts, Home Assistant discovery, no periodic readings) on the broker at URL, one after the other,
 * prints `{"event":"announced","count":N}` once the last one is online and has published its discovery
 * messages, and keeps them running (obeying and confirming commands) until its stdin closes or SIGTERM.
 * Usage: node scripts/bench/lib/plug-fleet.ts URL COUNT
 */
import { startVirtualDevice, type VirtualDevice } from '../../../firmware-bridge/virtual-device.ts'

const [url, countArg] = process.argv.slice(2)
const count = Number(countArg)
if (url == null || !Number.isInteger(count) || count < 1) throw new Error('usage: plug-fleet.ts URL COUNT')

const plugs: VirtualDevice[] = []
let stopping = false
async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  await Promise.all(plugs.map((p) => p.stop().catch(() => undefined)))
  process.exit(0)
}
process.once('SIGTERM', () => void stop())
process.stdin.on('end', () => void stop())
process.stdin.resume()

for (let i = 0; i < count; i++) {
  const id = `plug_${String(i).padStart(3, '0')}`
  plugs.push(await startVirtualDevice({ url, kind: 'plug', id, readingIntervalMs: 0 }))
}
process.stdout.write(`${JSON.stringify({ event: 'announced', count })}\n`)
