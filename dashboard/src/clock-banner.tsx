/**
 * Says when clocks disagree: this node's (its peers refuse what it sends) or some peers' (this node ignores
 * their notices). A Pi without a real-time clock boots with a wrong time until NTP answers.
 */
import { seconds, shortPeer } from './format.ts'
import type { ClockEstimate } from './types.ts'

/** to the nearest second: an offset measured over the network is a few ms short of the real one */
const about = (ms: number) => seconds(Math.round(Math.abs(ms) / 1000) * 1000)
const off = (ms: number) => `${about(ms)} ${ms > 0 ? 'behind' : 'ahead of'}`

export function ClockBanner({ clock }: { clock: ClockEstimate | undefined }) {
  if (clock == null) return null
  if (clock.suspect)
    return (
      <p class="problem" role="alert" data-clock="suspect">
        This node's clock is {off(clock.offsetMs)} its {clock.peers} peers' (median). They refuse its
        descriptors and notices until its time is set right: check NTP.
      </p>
    )
  if (clock.outliers.length === 0) return null
  return (
    <p class="problem" role="alert" data-clock="outliers">
      {clock.outliers.map((o, i) => (
        <span key={o.peer}>
          {i > 0 && '; '}
          <code title={o.peer}>{shortPeer(o.peer)}</code>'s clock is {about(o.offsetMs)}{' '}
          {o.offsetMs > 0 ? 'ahead of' : 'behind'} this node's
        </span>
      ))}
      : its notices are ignored until the clocks agree.
    </p>
  )
}
