/** The entry point: starts the store, then mounts the dashboard into index.html's `#app`. */
import { render } from 'preact'
import { App } from './app.tsx'
import { createStore } from './store.ts'
import './style.css'

const root = document.getElementById('app')
if (root != null) {
  // the requests go out before the first render: on a slow phone, rendering first delayed them by 300-600 ms
  const store = createStore()
  store.start()
  render(<App store={store} />, root)
}
