/** The command line's human output: tables, short ids, units, colours only where they belong, the spinner. */
import { stripVTControlCharacters } from 'node:util'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  ago,
  colorEnabled,
  createStyle,
  duration,
  shortPeer,
  table,
  truncate,
  visibleWidth,
} from '../../src/cli/format.ts'
import { formatError, formatMatches, formatPeers, formatTask, formatWorkflow } from '../../src/cli/output.ts'
import { startProgress } from '../../src/cli/progress.ts'
import { displayWidth, terminalText } from '../../src/cli/terminal-text.ts'

const PEER = '12D3KooWGEnQnTHFFDSsBtmuKrzs1erQykeYytk352DP4gCnbsdn'
const ESC = '\x1b['
const on = createStyle(true)
const off = createStyle(false)

describe('table', () => {
  it('aligns every column to its widest cell, numbers to the right', () => {
    const text = table(
      [
        ['NAME', 'MS'],
        ['a', '5'],
        ['longer', '1234'],
      ],
      { right: [1] },
    )
    expect(text.split('\n')).toEqual(['NAME      MS', 'a          5', 'longer  1234'])
  })

  it('measures styled cells by what shows, so colours do not break the alignment', () => {
    const text = table([
      [on.red('ok'), 'x'],
      ['failed', 'y'],
    ])
    const [first, second] = text.split('\n').map((l) => stripVTControlCharacters(l))
    expect(first).toBe('ok      x')
    expect(second).toBe('failed  y')
    expect(visibleWidth(on.red('ok'))).toBe(2)
  })

  it('leaves no trailing spaces and copes with ragged rows', () => {
    expect(table([['a', 'b', 'c'], ['dd']])).toBe('a   b  c\ndd')
  })
})

describe('short forms and units', () => {
  it('shortens peer ids to their last eight characters', () => {
    expect(shortPeer(PEER)).toBe('…4gCnbsdn')
    expect(shortPeer('short')).toBe('short')
  })

  it('truncates long text with an ellipsis, keeping short text whole', () => {
    expect(truncate('Virtual dimmable light living_room_lamp', 20)).toBe('Virtual dimmable li…')
    expect(truncate('Virtual dimmable li…', 20)).toHaveLength(20)
    expect(truncate('lamp', 20)).toBe('lamp')
  })

  it('prints durations in the unit that reads best', () => {
    expect(duration(0.42)).toBe('0.42 ms')
    expect(duration(12.34)).toBe('12.3 ms')
    expect(duration(456.7)).toBe('457 ms')
    expect(duration(1534)).toBe('1.53 s')
    expect(duration(42_000)).toBe('42.0 s')
    expect(duration(125_000)).toBe('2m 05s')
    expect(duration(3 * 3600_000 + 60_000)).toBe('3h 01m')
    expect(duration(-1)).toBe('-')
    expect(ago(90_000)).toBe('90s')
    expect(ago(3 * 3600_000)).toBe('3h')
  })
})

describe('colours', () => {
  it('are on for a terminal and off for a pipe or file', () => {
    expect(colorEnabled({ isTTY: true }, {})).toBe(true)
    expect(colorEnabled({ isTTY: false }, {})).toBe(false)
    expect(colorEnabled({}, {})).toBe(false)
  })

  it('honour NO_COLOR, NODE_DISABLE_COLORS and TERM=dumb, and FORCE_COLOR over all of them', () => {
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false)
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: '' })).toBe(true)
    expect(colorEnabled({ isTTY: true }, { NODE_DISABLE_COLORS: '1' })).toBe(false)
    expect(colorEnabled({ isTTY: true }, { TERM: 'dumb' })).toBe(false)
    expect(colorEnabled({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true)
    expect(colorEnabled({ isTTY: false }, { FORCE_COLOR: '' })).toBe(true)
    expect(colorEnabled({ isTTY: true }, { FORCE_COLOR: '0' })).toBe(false)
    expect(colorEnabled({ isTTY: true }, { FORCE_COLOR: 'false', NO_COLOR: '' })).toBe(false)
    expect(colorEnabled({ isTTY: false }, { FORCE_COLOR: '3', NO_COLOR: '1' })).toBe(true)
  })

  it('leave text untouched when off', () => {
    expect(off.red('failed')).toBe('failed')
    expect(on.red('failed')).toContain(ESC)
  })
})

const matches = [
  {
    peer: PEER,
    local: true,
    score: 0.372,
    capability: {
      id: 'kith_living_room_lamp.light',
      title: 'Virtual dimmable light living_room_lamp with a rather long title indeed',
      kind: 'device',
      risk: 'medium',
    },
  },
  {
    peer: '12D3KooWEgpi4DhYhR8aPVDrGsz88QupqqHp3JrR7RygyLLYr6rb',
    local: false,
    score: 0.153,
    capability: { id: 'math.stats', title: 'Statistics of a list of numbers', kind: 'script', risk: 'low' },
  },
]

describe('verb output', () => {
  it('shows find results as an aligned table with short providers and truncated titles', () => {
    const lines = formatMatches(matches, off).split('\n')
    expect(lines[0]).toMatch(/^#\s+SCORE\s+CAPABILITY\s+TITLE\s+KIND\s+RISK\s+PROVIDER$/)
    expect(lines[1]).toMatch(/this node$/)
    expect(lines[2]).toMatch(/…yLLYr6rb$/)
    expect(lines[1]).toContain('Virtual dimmable light living_room_lamp wit…')
    // every column starts at the same offset on every line
    const at = (line: string, word: string) => line.indexOf(word)
    expect(at(lines[1]!, 'device')).toBe(at(lines[0]!, 'KIND'))
    expect(at(lines[2]!, 'script')).toBe(at(lines[0]!, 'KIND'))
    expect(formatMatches([], off)).toBe('nothing in the network matches')
  })

  it('styles only when asked, with the same layout either way', () => {
    const plain = formatMatches(matches, off)
    const styled = formatMatches(matches, on)
    expect(plain).not.toContain(ESC)
    expect(styled).toContain(ESC)
    expect(stripVTControlCharacters(styled)).toBe(plain)
  })

  it('shows a task with its provider, checks and attempts in human units', () => {
    const text = formatTask(
      {
        id: 't1',
        ok: true,
        status: 'ok',
        output: { mean: 5 },
        provider: PEER,
        local: false,
        fallbacks: 0,
        tier: 2,
        attempts: [{ peer: PEER, status: 'ok', ms: 104.2 }],
        checks: [{ name: 'canary', result: 'pass', peer: PEER }],
      },
      off,
    )
    expect(text).toContain('provider   …4gCnbsdn')
    expect(text).toContain('attempts   …4gCnbsdn  ok  104 ms')
    expect(text).toContain('checks     canary pass …4gCnbsdn')
    expect(text.endsWith('{\n  "mean": 5\n}')).toBe(true)
  })

  it('shows a workflow step table and its outcome line', () => {
    const text = formatWorkflow(
      {
        name: 'evening',
        ok: true,
        ms: 1534,
        output: 21,
        steps: [
          { id: 'kitchen', status: 'ok', provider: PEER, local: true, tier: 1, ms: 5.1, fallbacks: 0 },
          { id: 'stats', status: 'ok', provider: PEER, local: false, tier: 1, ms: 92.2, fallbacks: 1 },
        ],
      },
      off,
    )
    const lines = text.split('\n')
    expect(lines[0]).toMatch(/^STEP\s+STATUS\s+PROVIDER\s+TIER\s+TIME\s+FALLBACKS\s+ERROR$/)
    expect(lines[2]).toMatch(/^stats\s+ok\s+…4gCnbsdn\s+1\s+92\.2 ms\s+1$/)
    expect(lines.at(-2)).toBe('workflow evening: ok in 1.53 s')
    expect(lines.at(-1)).toBe('21')
  })

  it('says so when no peer is connected, and shows peers shortly otherwise', () => {
    expect(formatPeers([], off)).toBe('no peers connected')
    const text = formatPeers(
      [
        {
          peerId: PEER,
          addrs: ['/ip4/127.0.0.1/tcp/7701'],
          direction: 'inbound',
          relayed: false,
          since: 0,
          streams: 3,
          name: 'kitchen',
        },
        {
          peerId: `${PEER.slice(0, -1)}x`,
          addrs: [],
          direction: 'outbound',
          relayed: false,
          since: 0,
          streams: 0,
        },
      ],
      off,
      19_000,
    )
    const [, named, unnamed] = text.split('\n')
    expect(named).toMatch(/^…4gCnbsdn\s+kitchen\s+inbound\s+19s\s+3\s+\/ip4\/127\.0\.0\.1\/tcp\/7701$/)
    expect(unnamed).toMatch(/^…4gCnbsdx\s+-\s+outbound/)
  })

  it('puts an error on one line with its code', () => {
    expect(formatError('no_provider', 'no live provider offers lamp.on', off)).toBe(
      'kith: no_provider: no live provider offers lamp.on',
    )
  })
})

/** A stream that records what is written, a terminal or not. */
function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const stream = {
    isTTY,
    text: '',
    write(chunk: string) {
      stream.text += chunk
      return true
    },
  }
  return stream as unknown as NodeJS.WriteStream & { text: string }
}

describe('progress line', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('shows nothing for a quick answer, then a spinner with the elapsed time, and clears its line', () => {
    vi.useFakeTimers()
    let now = 0
    const stream = fakeStream(true)
    const progress = startProgress('calling math.stats', { stream, env: {}, now: () => now })
    now = 250
    vi.advanceTimersByTime(250)
    expect(stream.text).toBe('')
    now = 1300
    vi.advanceTimersByTime(1050)
    expect(stream.text).toContain('calling math.stats')
    expect(stream.text).toContain('1.30 s')
    progress.stop()
    expect(stream.text.endsWith('\r\x1b[2K')).toBe(true)
    const written = stream.text.length
    vi.advanceTimersByTime(1000)
    progress.stop()
    expect(stream.text).toHaveLength(written)
  })

  it('writes nothing at all when stderr is not a terminal', () => {
    vi.useFakeTimers()
    const stream = fakeStream(false)
    const progress = startProgress('running workflow evening (4 steps)', { stream })
    vi.advanceTimersByTime(5000)
    progress.stop()
    expect(stream.text).toBe('')
  })
})

describe('text from other peers on the terminal', () => {
  // what a hostile or careless peer can put in a title: a window-title OSC, a clear-screen CSI, a line break,
  // an 8-bit CSI and a right-to-left override
  const HOSTILE = '\x1b]0;owned\x07Lamp\x1b[2J\r\nrm -rf\u009b31m on\u202e'
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  const RAW = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/

  const match = (id: string, title: string, kind = 'device') => ({
    peer: PEER,
    local: false,
    score: 0.5,
    capability: { id, title, kind, risk: 'low' },
  })

  it('strips escape sequences and control characters from titles, ids and kinds', () => {
    const text = formatMatches([match('lamp\x1b[8m.on', HOSTILE, 'dev\x07ice'), match('b', 'plain')], off)
    expect(text).not.toMatch(RAW)
    const lines = text.split('\n')
    expect(lines).toHaveLength(3)
    expect(lines[1]).toContain('lamp.on')
    expect(lines[1]).toContain('Lamp rm -rf on')
    expect(lines[1]).toContain('device')
  })

  it('keeps the columns aligned by display width: wide characters two, combining marks none', () => {
    const lines = formatMatches(
      [
        match('a', '台所の電気', 'kind1'),
        match('b', '💡 lamp 👨‍👩‍👧 🇩🇪', 'kind2'),
        match('c', 'Cafe\u0301 light', 'kind3'),
        match('d', 'plain title', 'kind4'),
      ],
      off,
    ).split('\n')
    // measured as a terminal would, independently of the table's own measure
    const column = (line: string, word: string) => displayWidth(line.slice(0, line.indexOf(word)))
    const kind = column(lines[0]!, 'KIND')
    for (const [i, line] of lines.slice(1).entries()) expect(column(line, `kind${i + 1}`)).toBe(kind)
  })

  it('cuts long wide titles by columns, never inside a character', () => {
    const lines = formatMatches([match('a', '💡'.repeat(40)), match('b', '電'.repeat(40))], off).split('\n')
    for (const line of lines.slice(1)) {
      expect(line).toContain('…')
      expect(line).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/)
    }
    expect(truncate('電'.repeat(40), 44)).toBe(`${'電'.repeat(21)}…`)
    expect(visibleWidth(truncate('💡'.repeat(40), 44))).toBeLessThanOrEqual(44)
  })

  it('removes every kind of escape sequence, keeping the text around it', () => {
    expect(terminalText('a\x1b[1;31mb\x1b[0mc')).toBe('abc')
    expect(terminalText('a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b')).toBe('alinkb')
    expect(terminalText('a\x1bPq#0;2\x1b\\b')).toBe('ab')
    expect(terminalText('a\x1b(Bb\x1bcc')).toBe('abc')
    expect(terminalText('a\u009d0;title\u009cb\u0085c')).toBe('ab c')
    expect(terminalText('tab\there\x00\x7f')).toBe('tab here')
    expect(terminalText('Café 台所 💡')).toBe('Café 台所 💡')
  })

  it('measures display width as a terminal shows it', () => {
    expect(visibleWidth('lamp')).toBe(4)
    expect(visibleWidth('台所')).toBe(4)
    expect(visibleWidth('ｈｕｂ')).toBe(6)
    expect(visibleWidth('e\u0301')).toBe(1)
    expect(visibleWidth('👍🏽')).toBe(2)
    expect(visibleWidth('👨‍👩‍👧')).toBe(2)
    expect(visibleWidth('🇩🇪')).toBe(2)
    expect(visibleWidth('a\u200bb')).toBe(2)
    expect(visibleWidth(on.red('台'))).toBe(2)
  })

  it('strips them from peer names, task errors and check reasons, and escapes them in JSON output', () => {
    const peers = formatPeers(
      [
        {
          peerId: PEER,
          addrs: [],
          direction: 'inbound',
          relayed: false,
          since: 0,
          streams: 1,
          name: HOSTILE,
        },
      ],
      off,
      0,
    )
    expect(peers).not.toMatch(RAW)
    expect(peers.split('\n')).toHaveLength(2)
    expect(formatError('failed', `provider says:\n${HOSTILE}`, off)).toBe(
      'kith: failed: provider says: Lamp rm -rf on',
    )
    const task = formatTask(
      {
        id: 't',
        ok: true,
        status: 'ok',
        output: { text: 'a\u009b2Jb\u202e' },
        fallbacks: 0,
        attempts: [],
        checks: [{ name: 'canary', result: 'fail', peer: PEER, reason: HOSTILE }],
      },
      off,
    )
    expect(task).not.toMatch(RAW)
    expect(task).toContain('"text": "a\\u009b2Jb\\u202e"')
    expect(JSON.parse(task.slice(task.indexOf('{')))).toEqual({ text: 'a\u009b2Jb\u202e' })
  })
})
