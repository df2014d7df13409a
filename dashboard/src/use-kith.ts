/** The store as a Preact hook: one store per mounted app, started on mount and stopped on unmount. */
import { useEffect, useMemo, useState } from 'preact/hooks'
import { createStore } from './store.ts'
import type { KithState, Store } from './store.ts'

export function useKith(): { state: KithState; store: Store } {
  const [state, setState] = useState<KithState | undefined>(undefined)
  const store = useMemo(() => createStore(setState), [])
  useEffect(() => {
    store.start()
    return () => store.stop()
  }, [store])
  return { state: state ?? store.get(), store }
}
