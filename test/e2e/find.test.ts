/** `kith find` against a running node's API, with a few dozen mixed household capabilities. */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Capability } from '../../src/discovery/descriptor.ts'
import { type KithNode } from '../../src/node/node.ts'
import { runCli, tempDir } from '../helpers.ts'
import { startTestNode } from '../nodes.ts'

const c = (
  id: string,
  title: string,
  description: string,
  tags: string[],
  kind: Capability['kind'] = 'device',
): Capability => ({
  id,
  title,
  description,
  tags,
  kind,
  risk: id.startsWith('lock') ? 'high' : 'low',
  input: {},
  output: {},
})

const HOUSEHOLD: Capability[] = [
  c('light.living-room', 'Living room light', 'Switch the living room ceiling light on or off', [
    'light',
    'switch',
    'living-room',
  ]),
  c('light.bedroom', 'Bedroom light', 'Switch the bedroom light on or off', ['light', 'switch', 'bedroom']),
  c('light.kitchen', 'Kitchen light', 'Dim or switch the kitchen light', ['light', 'dimmer', 'kitchen']),
  c('light.porch', 'Porch light', 'Outdoor porch light', ['light', 'outdoor']),
  c('plug.tv', 'TV plug', 'Smart plug powering the living room TV', ['plug', 'power', 'living-room']),
  c('plug.kettle', 'Kettle plug', 'Smart plug for the kettle', ['plug', 'power', 'kitchen']),
  c('plug.heater', 'Heater plug', 'Smart plug for the bedroom heater', ['plug', 'heating', 'bedroom']),
  c(
    'sensor.kitchen-temp',
    'Kitchen temperature',
    'Temperature and humidity in the kitchen',
    ['temperature', 'humidity', 'kitchen'],
    'sensor',
  ),
  c(
    'sensor.living-temp',
    'Living room temperature',
    'Temperature in the living room',
    ['temperature', 'living-room'],
    'sensor',
  ),
  c(
    'sensor.bedroom-temp',
    'Bedroom temperature',
    'Temperature in the bedroom',
    ['temperature', 'bedroom'],
    'sensor',
  ),
  c('sensor.hall-motion', 'Hall motion', 'Motion sensor in the hall', ['motion', 'hall'], 'sensor'),
  c(
    'sensor.front-door',
    'Front door contact',
    'Whether the front door is open or closed',
    ['door', 'contact'],
    'sensor',
  ),
  c(
    'sensor.back-window',
    'Back window contact',
    'Whether the back window is open',
    ['window', 'contact'],
    'sensor',
  ),
  c('sensor.power-meter', 'Power meter', 'Whole-house power use', ['power', 'energy'], 'sensor'),
  c('thermostat.hall', 'Hall thermostat', 'Set the target temperature of the heating', [
    'thermostat',
    'heating',
  ]),
  c('lock.front-door', 'Front door lock', 'Lock or unlock the front door', ['lock', 'door']),
  c('lock.garage', 'Garage lock', 'Lock or unlock the garage', ['lock', 'garage']),
  c('blind.living-room', 'Living room blinds', 'Open or close the living room blinds', [
    'blind',
    'window',
    'living-room',
  ]),
  c('speaker.kitchen', 'Kitchen speaker', 'Play audio on the kitchen speaker', [
    'speaker',
    'audio',
    'kitchen',
  ]),
  c('tv.living-room', 'Living room TV', 'Turn the TV on or off and change channels', ['tv', 'living-room']),
  c('fan.bedroom', 'Bedroom fan', 'Turn the ceiling fan on or off', ['fan', 'bedroom']),
  c('camera.porch', 'Porch camera', 'Take a snapshot from the porch camera', ['camera', 'outdoor']),
  c('vacuum.robot', 'Robot vacuum', 'Start or stop the robot vacuum', ['vacuum', 'cleaning']),
  c('garden.sprinkler', 'Garden sprinkler', 'Water the garden', ['water', 'garden']),
  c('text.summarize', 'Summarize text', 'Summarize a piece of text', ['text', 'nlp'], 'script'),
  c('text.translate', 'Translate text', 'Translate text between languages', ['text', 'nlp'], 'script'),
  c('image.resize', 'Resize image', 'Resize an image to a given width', ['image'], 'script'),
  c('image.thumbnail', 'Make thumbnail', 'Make a thumbnail of a photo', ['image', 'photo'], 'script'),
  c('math.stats', 'Statistics', 'Mean, median and percentiles of numbers', ['math'], 'script'),
  c('calendar.next', 'Next event', 'The next event in the family calendar', ['calendar'], 'script'),
  c('weather.forecast', 'Weather forecast', 'Forecast from the local weather station', ['weather'], 'script'),
  c(
    'shopping.add',
    'Add to shopping list',
    'Add an item to the shopping list',
    ['shopping', 'list'],
    'script',
  ),
  c('doorbell.ring', 'Doorbell', 'Ring events from the doorbell', ['doorbell', 'door'], 'sensor'),
  c('light.garden', 'Garden lights', 'String lights in the garden', ['light', 'garden', 'outdoor']),
]

let node: KithNode
let cleanup: () => Promise<void>

beforeAll(async () => {
  const t = await tempDir('kith-find-')
  cleanup = t.cleanup
  node = await startTestNode(join(t.dir, 'n'), {
    local: {
      state: () => ({ load: 0.1, memFree: 1e9, queue: 0 }),
      capabilities: () => HOUSEHOLD,
    },
  })
})

afterAll(async () => {
  await node?.stop()
  await cleanup?.()
})

describe('kith find', () => {
  it('ranks the living room light first for "turn on the living room lamp"', async () => {
    const res = await runCli(['find', 'turn on the living room lamp', '--api', node.apiUrl, '--json'])
    expect(res.stderr).toBe('')
    const out = JSON.parse(res.stdout) as {
      matches: Array<{ capability: { id: string }; local: boolean; parts: Record<string, number> }>
    }
    expect(out.matches[0]?.capability.id).toBe('light.living-room')
    expect(out.matches[0]?.local).toBe(true)
    expect(Object.keys(out.matches[0]!.parts).sort()).toEqual([
      'availability',
      'latency',
      'relevance',
      'schema',
      'trust',
    ])
  })

  it('prints a readable table and honours --kind and --limit', async () => {
    const res = await runCli([
      'find',
      'temperature in the kitchen',
      '--api',
      node.apiUrl,
      '--kind',
      'sensor',
      '--limit',
      '3',
    ])
    expect(res.code).toBe(0)
    const lines = res.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^#\s+SCORE\s+CAPABILITY\s+TITLE\s+KIND\s+RISK\s+PROVIDER$/)
    expect(lines[1]).toMatch(/sensor\.kitchen-temp/)
    expect(lines.length).toBeLessThanOrEqual(4)
  })

  it('answers a bad query with a JSON error', async () => {
    const res = await fetch(`${node.apiUrl}/v1/capabilities?q=lamp&minTier=7`)
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_request')
  })
})
