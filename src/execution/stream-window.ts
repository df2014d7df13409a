/**
 * yamux as this node runs it (@chainsafe/libp2p-yamux 8) answers every data frame a stream receives with a
 * window update frame, so one request and its reply on a long-lived task stream cost four frames, each its
 * own Noise message and socket write (and, on loopback, a wake-up of the other process), instead of two.
 * Measured on the delegation benchmark: about 0.15 ms of a round trip. Go's yamux, which the protocol comes
 * from, sends an update only once half of the receive window has been used; `lazyWindowUpdates` makes one
 * stream behave that way. Flow control is unchanged: the sender still stops at the window, and the update
 * that lets it go on is sent as soon as half the window is used. The library has no option for this, so
 * the stream's own method is wrapped; a stream that does not have the expected shape is left alone.
 */
import type { Stream } from '@libp2p/interface'

/** yamux's StreamState.Established: the SYN/ACK flags an update may carry are already exchanged. */
const ESTABLISHED = 3

interface YamuxStreamShape {
  sendWindowUpdate(): void
  recvWindow: number
  recvWindowCapacity: number
  state: number
}

function isYamuxStream(stream: unknown): stream is YamuxStreamShape {
  const s = stream as Partial<YamuxStreamShape>
  return (
    typeof s.sendWindowUpdate === 'function' &&
    typeof s.recvWindow === 'number' &&
    typeof s.recvWindowCapacity === 'number' &&
    typeof s.state === 'number'
  )
}

/**
 * Sends `stream`'s window updates only once half of its receive window is used; true if the stream is a
 * yamux stream and now does.
 *
 * @example
 * const stream = await host.dialProtocol(peer, TASK_PROTOCOL)
 * lazyWindowUpdates(stream)
 */
export function lazyWindowUpdates(stream: Stream): boolean {
  if (!isYamuxStream(stream)) return false
  const send = stream.sendWindowUpdate
  stream.sendWindowUpdate = function lazySendWindowUpdate(this: YamuxStreamShape) {
    if (this.state === ESTABLISHED && this.recvWindowCapacity > this.recvWindow / 2) return
    send.call(this)
  }
  return true
}
