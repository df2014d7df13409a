/** The names peers gave themselves (store.ts `names`), for every view that names a peer. */
import { createContext } from 'preact'
import { useContext } from 'preact/hooks'

export const NamesContext = createContext<ReadonlyMap<string, string>>(new Map())

/** the names in effect, for {@link peerName} */
export const useNames = (): ReadonlyMap<string, string> => useContext(NamesContext)
