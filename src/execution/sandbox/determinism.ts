/**
 * The VM-side source that makes a context deterministic, so that a replay by the requester or a second peer
 * gives the same output: a fixed clock, a seeded `Math.random` (mulberry32), dates in UTC (QuickJS takes
 * local time from the host's time zone, which differs between peers), and no WeakRef/FinalizationRegistry
 * (their timing follows the garbage collector). Strings without a zone, such as `2024-01-01T10:00` or
 * `Jan 1 2024 10:00`, are read as UTC.
 */

/**
 * Evaluates to a function `(now, seed) => void` that patches the context's globals.
 *
 * @example
 * const patch = context.unwrapResult(context.evalCode(DETERMINISM_SOURCE))
 * context.callFunction(patch, context.undefined, [context.newNumber(0), context.newNumber(42)])
 */
export const DETERMINISM_SOURCE = String.raw`(function (now, seed) {
  'use strict'
  const g = globalThis
  const apply = Reflect.apply
  const construct = Reflect.construct
  const define = (target, name, value) =>
    Object.defineProperty(target, name, { value, writable: true, configurable: true })
  const imul = Math.imul
  const RealDate = g.Date
  const proto = RealDate.prototype
  const realParse = RealDate.parse
  const realUTC = RealDate.UTC
  const getTime = proto.getTime
  const localOffset = proto.getTimezoneOffset
  const test = RegExp.prototype.test
  const ZONED = /(?:Z|[+-]\d\d(?::?\d\d)?|\b(?:GMT|UTC|UT)\b.*)$/i

  let state = seed >>> 0
  define(Math, 'random', function random() {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = imul(t ^ (t >>> 15), t | 1)
    t ^= t + imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  })

  const parseUTC = (value) => {
    const text = '' + value
    const time = realParse(text)
    if (time !== time || apply(test, ZONED, [text])) return time
    return time - apply(localOffset, construct(RealDate, [time]), []) * 60000
  }

  const U = {}
  for (const unit of ['FullYear', 'Month', 'Date', 'Day', 'Hours', 'Minutes', 'Seconds', 'Milliseconds']) {
    U[unit] = proto['getUTC' + unit]
    define(proto, 'get' + unit, U[unit])
    if (unit !== 'Day') define(proto, 'set' + unit, proto['setUTC' + unit])
  }
  const valid = (date) => {
    const t = apply(getTime, date, [])
    return t === t
  }
  const field = (date, unit) => apply(U[unit], date, [])
  const pad = (n, width) => {
    let s = '' + n
    while (s.length < width) s = '0' + s
    return s
  }
  const year = (date) => {
    const y = field(date, 'FullYear')
    return y < 0 ? '-' + pad(-y, 4) : pad(y, 4)
  }
  const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
  const day = (d) =>
    DAYS[field(d, 'Day')] + ' ' + MONTHS[field(d, 'Month')] + ' ' + pad(field(d, 'Date'), 2) + ' ' + year(d)
  const clock = (d, h) => pad(h, 2) + ':' + pad(field(d, 'Minutes'), 2) + ':' + pad(field(d, 'Seconds'), 2)
  const time = (d) => clock(d, field(d, 'Hours')) + ' GMT+0000'
  const localDay = (d) => pad(field(d, 'Month') + 1, 2) + '/' + pad(field(d, 'Date'), 2) + '/' + year(d)
  const localTime = (d) => {
    const h = field(d, 'Hours')
    return clock(d, h % 12 === 0 ? 12 : h % 12) + (h < 12 ? ' AM' : ' PM')
  }
  const formats = {
    toString: (d) => day(d) + ' ' + time(d),
    toDateString: day,
    toTimeString: time,
    toLocaleString: (d) => localDay(d) + ', ' + localTime(d),
    toLocaleDateString: localDay,
    toLocaleTimeString: localTime,
  }
  for (const name in formats) {
    const format = formats[name]
    define(proto, name, { [name]() { return valid(this) ? format(this) : 'Invalid Date' } }[name])
  }
  define(proto, 'getTimezoneOffset', function getTimezoneOffset() {
    return valid(this) ? 0 : NaN
  })
  if (typeof proto.getYear === 'function')
    define(proto, 'getYear', function getYear() {
      return valid(this) ? field(this, 'FullYear') - 1900 : NaN
    })

  function DateUTC(...args) {
    if (new.target === undefined) return formats.toString(construct(RealDate, [now]))
    let t = now
    if (args.length === 1) t = typeof args[0] === 'string' ? parseUTC(args[0]) : args[0]
    else if (args.length > 1) t = apply(realUTC, RealDate, args)
    return construct(RealDate, [t], new.target)
  }
  Object.defineProperty(DateUTC, 'name', { value: 'Date' })
  Object.defineProperty(DateUTC, 'length', { value: 7 })
  DateUTC.prototype = proto
  define(proto, 'constructor', DateUTC)
  define(DateUTC, 'now', { now: () => now }.now)
  define(DateUTC, 'parse', { parse: (text) => parseUTC(text) }.parse)
  define(DateUTC, 'UTC', realUTC)
  define(g, 'Date', DateUTC)
  delete g.WeakRef
  delete g.FinalizationRegistry
})`
