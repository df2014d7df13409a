/**
 * A server-sent events parser fed with text chunks. EventSource cannot send an Authorization header, so the
 * dashboard reads `/v1/events` with fetch() and parses the stream here (the WHATWG "event stream" rules,
 * less `id` and `retry`, which the node does not send).
 */

export interface SseEvent {
  event: string
  data: string
}

export class SseParser {
  #buffer = ''
  #event = ''
  #data: string[] = []

  /**
   * Adds a chunk of the stream and returns the events it completed.
   *
   * @example
   * new SseParser().push('event: peers\ndata: {"at":1}\n\n') // [{ event: 'peers', data: '{"at":1}' }]
   */
  push(chunk: string): SseEvent[] {
    const text = this.#buffer + chunk
    const events: SseEvent[] = []
    let start = 0
    for (let i = 0; i < text.length; i++) {
      const c = text[i]
      if (c !== '\n' && c !== '\r') continue
      // a CR at the very end may be the first half of a CRLF split across chunks
      if (c === '\r' && i + 1 === text.length) break
      const line = text.slice(start, i)
      if (c === '\r' && text[i + 1] === '\n') i++
      start = i + 1
      const event = this.#line(line)
      if (event != null) events.push(event)
    }
    this.#buffer = text.slice(start)
    return events
  }

  #line(line: string): SseEvent | undefined {
    if (line === '') {
      const event = this.#event !== '' || this.#data.length > 0 ? this.#dispatch() : undefined
      this.#event = ''
      this.#data = []
      return event
    }
    if (line.startsWith(':')) return undefined
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'event') this.#event = value
    else if (field === 'data') this.#data.push(value)
    return undefined
  }

  #dispatch(): SseEvent {
    return { event: this.#event === '' ? 'message' : this.#event, data: this.#data.join('\n') }
  }
}
