/**
 * Child program of the devices benchmark: publishes Zigbee2MQTT-style climate readings (QoS 0) on `topics`
 * topics at `rate` messages per second in all, for `ms` milliseconds, then prints `{"sent":N}`.
 * Usage: node scripts/bench/lib/mqtt-publisher.ts URL PREFIX TOPICS RATE MS
 */
import mqtt from 'mqtt'

const [url, prefix, topicsArg, rateArg, msArg] = process.argv.slice(2)
if (url == null || prefix == null) throw new Error('usage: mqtt-publisher.ts URL PREFIX TOPICS RATE MS')
const topics = Number(topicsArg)
const rate = Number(rateArg)
const ms = Number(msArg)

const client = await mqtt.connectAsync(url, { clientId: `fanin-${process.pid}`, clean: true })
;(client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true)
let sent = 0
const started = performance.now()
// publish in 10 ms ticks, each tick catching up to where the rate says we should be
while (performance.now() - started < ms) {
  const due = Math.floor(((performance.now() - started) / 1000) * rate)
  while (sent < due) {
    const i = sent % topics
    client.publish(
      `${prefix}/s${i}`,
      JSON.stringify({ temperature: 20 + (sent % 50) / 10, humidity: 45, battery: 90 }),
      {
        qos: 0,
      },
    )
    sent += 1
  }
  await new Promise((r) => setTimeout(r, 10))
}
await client.endAsync()
process.stdout.write(`${JSON.stringify({ sent })}\n`)
