/** Re-renders its component every second, with no network: descriptor ages and reading ages move on. */
import { useEffect, useState } from 'preact/hooks'

export function useTick(ms = 1000): number {
  const [tick, setTick] = useState(0)
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), ms)
    return () => clearInterval(timer)
  }, [ms])
  return tick
}
