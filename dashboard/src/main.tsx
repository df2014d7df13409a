/** The entry point: mounts the dashboard into index.html's `#app`. */
import { render } from 'preact'
import { App } from './app.tsx'
import './style.css'

const root = document.getElementById('app')
if (root != null) render(<App />, root)
