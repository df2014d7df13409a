/**
 * Zigbee2MQTT's lookup-table templates (Koenkk/zigbee2mqtt lib/extension/homeassistant.ts: climate
 * action_template and mode templates, fan percentage_command_template) read as the template subset's conditional
 * chains, with Jinja's result: the entry's value, or undefined for a key the table lacks.
 */
import { describe, expect, it } from 'vitest'
import { compileTemplate } from '../../src/devices/template.ts'
import { rewriteLookups } from '../../src/devices/template-builders.ts'

const render = (source: string, context: Record<string, unknown>) =>
  compileTemplate(rewriteLookups(source)).render(context)

describe('lookup tables', () => {
  it('{% set values = {…} %}{{ values[x] }}, None keys included', () => {
    const action =
      "{% set values = {None:None,'idle':'idle','heat':'heating','cool':'cooling','fan_only':'fan'} %}{{ values[value_json[\"running_state\"]] }}"
    expect(render(action, { value_json: { running_state: 'heat' } })).toBe('heating')
    expect(render(action, { value_json: { running_state: 'fan_only' } })).toBe('fan')
    expect(render(action, { value_json: { running_state: 'defrost' } })).toBe('')
  })

  it('x in values.keys(), and a second set of a plain expression', () => {
    const command =
      "{% set values = { 'auto':'schedule','heat':'manual','off':'pause'} %}{\"operating_mode\": \"{{ values[value] if value in values.keys() else 'pause' }}\"}"
    expect(render(command, { value: 'auto' })).toBe('{"operating_mode": "schedule"}')
    expect(render(command, { value: 'dry' })).toBe('{"operating_mode": "pause"}')
    const state =
      "{% set values = {'schedule':'auto','manual':'heat','pause':'off'} %}{% set value = value_json.operating_mode %}{{ values[value] if value in values.keys() else 'off' }}"
    expect(render(state, { value_json: { operating_mode: 'manual' } })).toBe('heat')
    expect(render(state, { value_json: { operating_mode: 'boost' } })).toBe('off')
  })

  it('an inline table with integer keys, subscripted at once, with a default', () => {
    const percentage = "{{ {0:'off', 1:'low', 2:'medium', 3:'high', 4:'on'}[value] | default('') }}"
    expect(render(percentage, { value: 2 })).toBe('medium')
    expect(render(percentage, { value: 2.0 })).toBe('medium')
    expect(render(percentage, { value: 7 })).toBe('')
  })

  it('leaves every other template as it is', () => {
    for (const source of [
      '{{ value_json.state }}',
      '{"state": "{{ value }}"}',
      "{% if value == 'ON' %}on{% endif %}",
      '{% set x = "a" %}{{ x }}',
    ]) {
      expect(rewriteLookups(source)).toBe(source)
    }
  })
})
