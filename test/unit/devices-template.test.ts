import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  compileTemplate,
  isTruthy,
  MAX_RENDERED_BYTES,
  MAX_TEMPLATE_LENGTH,
  pyFloatRepr,
  TemplateError,
} from '../../src/devices/template.ts'
import { jinjaLiteral, substituteVariables, templateExpression } from '../../src/devices/template-builders.ts'

function render(source: string, context: Record<string, unknown> = {}): string {
  return compileTemplate(source).render(context)
}

function reason(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    if (err instanceof TemplateError) return err.reason
    throw err
  }
  return undefined
}

describe('compileTemplate renders the Home Assistant forms', () => {
  it.each([
    ['{{ value_json.temperature | float }}', { value_json: { temperature: 21 } }, '21.0'],
    ['{{ value_json.temperature | float }}', { value_json: { temperature: '21.37' } }, '21.37'],
    ['{{ value_json.state | lower }}', { value_json: { state: 'ON' } }, 'on'],
    ['{{ (value | float / 10) | round(1) }}', { value: '215' }, '21.5'],
    ["{{ 'ON' if input.on else 'OFF' }}", { input: { on: true } }, 'ON'],
    ["{{ 'ON' if input.on else 'OFF' }}", { input: { on: false } }, 'OFF'],
    ['{{ value_json.x is defined }}', { value_json: { x: 0 } }, 'True'],
    ['{{ value_json.x is defined }}', { value_json: {} }, 'False'],
    ['{{ value_json.x is undefined }}', { value_json: {} }, 'True'],
    ['{{ value_json.a.b.c is defined }}', { value_json: {} }, 'False'],
    ['{{ value_json.x is none }}', { value_json: { x: null } }, 'True'],
    ['{{ value_json.x is number }}', { value_json: { x: 1.5 } }, 'True'],
    ['{{ value_json.x is string }}', { value_json: { x: 1.5 } }, 'False'],
    ["{{ value_json['x'] }}", { value_json: { x: 'X' } }, 'X'],
    ['{{ value_json.list[0] }}/{{ value_json.list[-1] }}', { value_json: { list: [1, 2.5] } }, '1/2.5'],
    ["{{ value_json['AM2301']['Temperature'] }}", { value_json: { AM2301: { Temperature: 22.4 } } }, '22.4'],
    ['{{ value_json.a.b }}', { value_json: { a: { b: 'deep' } } }, 'deep'],
  ])('%s with %j gives %s', (source, context, want) => {
    expect(render(source, context)).toBe(want)
  })

  it('renders an {% if %} block with elif and else', () => {
    const t = compileTemplate(
      '{% if value_json.a > 3 %}big{% elif value_json.a > 1 %}mid{% else %}small{% endif %}',
    )
    expect(t.render({ value_json: { a: 5 } })).toBe('big')
    expect(t.render({ value_json: { a: 2 } })).toBe('mid')
    expect(t.render({ value_json: { a: 0 } })).toBe('small')
  })

  it('keeps text around outputs and drops comments', () => {
    expect(render('{"brightness": {{ input.b }}{# the level #}}', { input: { b: 7 } })).toBe(
      '{"brightness": 7}',
    )
  })

  it('compares, combines and negates like Python', () => {
    expect(render('{{ 1 == 1.0 and true == 1 }}')).toBe('True')
    expect(render("{{ '1' == 1 }}")).toBe('False')
    expect(render('{{ not (1 < 2) or 3 >= 3 }}')).toBe('True')
    expect(render("{{ 'abc' < 'abd' }}")).toBe('True')
    expect(render("{{ value_json.s in ['a', 'b'] }}", { value_json: { s: 'b' } })).toBe('True')
    expect(render('{{ value_json == {"a": [1, 2]} }}', { value_json: { a: [1, 2] } })).toBe('True')
  })

  it('does arithmetic with Python types and printing', () => {
    expect(render('{{ 1 / 2 }} {{ 7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 1.0 + 2 }} {{ 10 / 5 }}')).toBe(
      '0.5 3 2 1024 3.0 2.0',
    )
    expect(render("{{ 'a' ~ 1 ~ 2.0 ~ none }}")).toBe('a12.0None')
  })

  it('prints values as Jinja does', () => {
    expect(render('{{ true }} {{ none }} {{ missing }}|')).toBe('True None |')
    expect(render('{{ value_json }}', { value_json: { b: 1, a: [true, null, "it's"] } })).toBe(
      `{'b': 1, 'a': [True, None, "it's"]}`,
    )
  })
})

describe('filters', () => {
  it.each([
    ['{{ "12.7" | int }}', '12'],
    ['{{ -2.7 | int }}', '-2'],
    ['{{ "ff" | int(base=16) }}', '255'],
    ['{{ "x" | int(5) }}', '5'],
    ['{{ "x" | float(0) }}', '0'],
    ['{{ true | float }}', '1.0'],
    ['{{ 2.5 | round }}', '2'],
    ['{{ 3.5 | round }}', '4'],
    ['{{ 0.25 | round(1) }}', '0.2'],
    ['{{ 2.675 | round(2) }}', '2.67'],
    ['{{ 2.11 | round(1, "ceil") }}', '2.2'],
    ['{{ 2.19 | round(1, "floor") }}', '2.1'],
    ['{{ 2.3 | round(1, "half") }}', '2.5'],
    ['{{ "21.46" | round(1) }}', '21.5'],
    ['{{ "  Mixed Case " | trim | upper }}', 'MIXED CASE'],
    ['{{ none | lower }}', 'none'],
    ['{{ missing | default("d") }}', 'd'],
    ['{{ "" | default("d", true) }}', 'd'],
    ['{{ 0 | default("d") }}', '0'],
    ['{{ 20.0 | string }}', '20.0'],
    ['{{ -3 | abs }} {{ -2.5 | abs }}', '3 2.5'],
    ['{{ "héllo" | length }} {{ [1, 2] | length }}', '5 2'],
  ])('%s gives %s', (source, want) => {
    expect(render(source)).toBe(want)
  })

  it('writes JSON as Jinja (tojson) and Home Assistant (to_json) do', () => {
    const value_json = { b: 1, a: [true, null, 'é<'], f: 2.0 }
    expect(render('{{ value_json | tojson }}', { value_json })).toBe(
      '{"a": [true, null, "\\u00e9\\u003c"], "b": 1, "f": 2}',
    )
    expect(render('{{ value_json | to_json }}', { value_json })).toBe('{"b":1,"a":[true,null,"é<"],"f":2}')
    expect(render('{{ 2.5 | to_json }} {{ "x\\"y" | to_json }}')).toBe('2.5 "x\\"y"')
  })

  it('refuses a number it cannot read unless given a default (as Home Assistant does)', () => {
    expect(reason(() => render('{{ "unavailable" | float }}'))).toBe('render')
    expect(reason(() => render('{{ "unavailable" | int }}'))).toBe('render')
    expect(reason(() => render('{{ "unavailable" | round(1) }}'))).toBe('render')
    expect(render('{{ "unavailable" | float(none) }}')).toBe('None')
  })
})

describe('isTruthy', () => {
  it.each([
    ['true', true],
    ['True', true],
    [' 1\n', true],
    ['ON', true],
    ['on', true],
    ['false', false],
    ['False', false],
    ['0', false],
    ['', false],
    ['yes please', false],
  ])('%j is %s', (text, want) => {
    expect(isTruthy(text)).toBe(want)
  })
})

describe('refusals', () => {
  it.each([
    ['too_long', 'x'.repeat(MAX_TEMPLATE_LENGTH + 1)],
    ['too_deep', `{{ ${'('.repeat(40)}1${')'.repeat(40)} }}`],
    ['too_deep', `{{ ${Array(300).fill('1').join('+')} }}`],
    ['syntax', '{{ value_json.'],
    ['syntax', '{% if x %}no end'],
    ['syntax', '{{ "unterminated }}'],
    ['syntax', '{{ x | round(1, "common", 0, 5) }}'],
    ['forbidden', '{% for x in value_json %}{{ x }}{% endfor %}'],
    ['forbidden', '{% set x = 1 %}{{ x }}'],
    ['forbidden', '{% macro m() %}x{% endmacro %}{{ m() }}'],
    ['forbidden', '{{ range(10) }}'],
    ['forbidden', '{{ range }}'],
    ['forbidden', '{{ value.upper() }}'],
    ['forbidden', '{{ value | title }}'],
    ['forbidden', '{{ value | map(attribute="x") }}'],
    ['forbidden', '{{ x is divisibleby }}'],
    ['forbidden', '{{ value_json._private }}'],
    ['forbidden', '{{ value_json.__proto__ }}'],
    ['forbidden', "{{ value_json['__proto__'] }}"],
    ['forbidden', '{{ value_json.constructor }}'],
    ['forbidden', '{{ value_json.prototype }}'],
    ['forbidden', '{{ value[1:3] }}'],
    ['forbidden', '{% filter upper %}x{% endfilter %}'],
    ['forbidden', '{{ namespace(a=1) }}'],
    ['render', '{{ 1 / 0 }}'],
    ['render', '{{ "a" + 1 }}'],
    ['render', '{{ none < 1 }}'],
  ])('refuses with %s: %s', (want, source) => {
    expect(reason(() => render(source, { value: 'v', value_json: { a: 1 } }))).toBe(want)
  })

  it('refuses a computed key that is forbidden when the template runs', () => {
    expect(reason(() => render('{{ value_json[value_json.k] }}', { value_json: { k: '__proto__' } }))).toBe(
      'forbidden',
    )
  })

  it('bounds the rendered output', () => {
    const big = 'x'.repeat(9000)
    expect(render('{{ value }}', { value: big })).toHaveLength(9000)
    expect(reason(() => render('{{ value ~ value }}', { value: big }))).toBe('too_long')
    expect(reason(() => render('{{ value }}{{ value }}', { value: big }))).toBe('too_long')
  })
})

describe('hostile templates', () => {
  const hostile = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    '{{ value_json.constructor.constructor("return process")() }}',
    "{{ value_json['constructor']['constructor']('return process')() }}",
    '{{ value.constructor }}',
    '{{ (value_json | tojson).constructor }}',
    '{{ value_json.__proto__.polluted }}',
    '{{ cycler.__init__.__globals__ }}',
    '{{ self.__init__ }}',
    '{{ lipsum.__globals__ }}',
    '{{ raise_exception("x") }}',
    '{{ strftime_now("%Y") }}',
    '{% for i in range(999999999) %}x{% endfor %}',
    '{% call m() %}x{% endcall %}',
    "{{ 'x' * 100000000 }}",
    '{{ 9 ** 9 ** 9 ** 9 }}',
    `{{ ${'['.repeat(200)}${']'.repeat(200)} }}`,
    `{{ ${'not '.repeat(300)}true }}`,
    `${'{% if true %}'.repeat(60)}x${'{% endif %}'.repeat(60)}`,
  ]
  it.each(hostile)('refuses or bounds %s', (source) => {
    let out: string | undefined
    try {
      out = render(source, { value: 'v', value_json: { a: 1 } })
    } catch (err) {
      expect(err).toBeInstanceOf(TemplateError)
    }
    if (out !== undefined) {
      expect(out.length).toBeLessThanOrEqual(MAX_RENDERED_BYTES)
      expect(out).not.toMatch(/function|process|=>/)
    }
  })

  it('reads context values as data: functions, class instances and prototypes do not come through', () => {
    const context = {
      value_json: {
        fn: () => 'called',
        date: new Date(0),
        map: new Map([['a', 1]]),
        ok: 1,
        nested: JSON.parse('{"__proto__": {"polluted": 1}}'),
      },
    }
    expect(
      render('{{ value_json.fn is defined }}|{{ value_json.date is defined }}|{{ value_json.ok }}', context),
    ).toBe('False|False|1')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('never throws anything but TemplateError, whatever the source', () => {
    const piece = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom(
        '{{',
        '}}',
        '{%',
        '%}',
        '{#',
        '#}',
        'if',
        'elif',
        'else',
        'endif',
        'for',
        'in',
        'set',
        '|',
        'float',
        'round(',
        'int(',
        'default(',
        'tojson',
        '(',
        ')',
        '[',
        ']',
        '{',
        '}',
        '.',
        ',',
        "'",
        '"',
        '\\',
        '-',
        '+',
        '*',
        '**',
        '/',
        '//',
        '%',
        '~',
        '==',
        'is',
        'not',
        'and',
        'or',
        'defined',
        'value',
        'value_json',
        'input',
        '__proto__',
        'constructor',
        '0',
        '1.5',
        ' ',
      ),
    )
    const source = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.array(piece, { maxLength: 40 }).map((p) => p.join('')),
    )
    fc.assert(
      fc.property(source, fc.jsonValue({ maxDepth: 3 }), (text, json) => {
        try {
          compileTemplate(text).render({
            value: typeof json === 'string' ? json : JSON.stringify(json),
            value_json: json,
          })
        } catch (err) {
          if (!(err instanceof TemplateError)) throw err
        }
      }),
      { numRuns: 3000 },
    )
  })
})

describe('helpers for importers', () => {
  it('jinjaLiteral quotes any text so that it renders back unchanged', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (text) => {
        expect(render(`{{ ${jinjaLiteral(text)} }}`)).toBe(text)
      }),
    )
    expect(jinjaLiteral(21)).toBe('21')
    expect(jinjaLiteral(true)).toBe('true')
    expect(jinjaLiteral(null)).toBe('none')
  })

  it('templateExpression finds the one expression of a template', () => {
    expect(templateExpression('{{ value_json.state }}')).toBe('value_json.state')
    expect(templateExpression(' {{- value_json.POWER -}} ')).toBe('value_json.POWER')
    expect(templateExpression('{{ a }}{{ b }}')).toBeUndefined()
    expect(templateExpression('on: {{ a }}')).toBeUndefined()
    expect(templateExpression('{% if a %}x{% endif %}')).toBeUndefined()
    expect(templateExpression('{{ range(3) }}')).toBeUndefined()
  })

  it('substituteVariables replaces variables only, not text, strings, attributes or keywords', () => {
    expect(
      substituteVariables(
        'value {"v": {{ value }}, "s": "{{ \'value\' }}", "a": {{ x.value }}}{% if value > 1 %}!{% endif %}',
        {
          value: 'input.value',
        },
      ),
    ).toBe(
      'value {"v": {{ (input.value) }}, "s": "{{ \'value\' }}", "a": {{ x.value }}}{% if (input.value) > 1 %}!{% endif %}',
    )
    const t = substituteVariables('{"value": {{ value | round(1) }}}', { value: 'input.value' })
    expect(render(t, { input: { value: 21.25 } })).toBe('{"value": 21.2}')
  })

  it('pyFloatRepr prints floats as Python does', () => {
    expect([20, 1e16, 1e15, 0.0001, 0.00001, -0, 0.1 + 0.2, 1.5e-7].map(pyFloatRepr)).toEqual([
      '20.0',
      '1e+16',
      '1000000000000000.0',
      '0.0001',
      '1e-05',
      '-0.0',
      '0.30000000000000004',
      '1.5e-07',
    ])
  })
})
