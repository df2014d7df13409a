/** The store as a Preact hook: the component re-renders with every new state of the (started) store. */
import { useEffect, useState } from 'preact/hooks'
import type { KithState, Store } from './store.ts'

export function useKith(store: Store): KithState {
  const [state, setState] = useState<KithState>(store.get())
  useEffect(() => {
    // what changed between the first render and this effect (answers already in) is taken over here
    setState(store.get())
    return store.subscribe(setState)
  }, [store])
  return state
}
