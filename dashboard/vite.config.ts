// Builds the dashboard into static assets that the node serves at `/` (src/api). Nothing is inlined into
// index.html and there is no preload polyfill, because the node's CSP allows only same-origin scripts and styles.
import { fileURLToPath } from 'node:url'
import preact from '@preact/preset-vite'
import { defineConfig } from 'vite'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  // the repository's cache, so nothing but sources lives under dashboard/ (its build staleness check reads it)
  cacheDir: '../node_modules/.vite/dashboard',
  plugins: [preact({ prerender: { enabled: false } })],
  build: {
    outDir: '../dist/dashboard',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    modulePreload: { polyfill: false },
    // a data: URL would need to be allowed by the CSP for every asset kind; a few extra files are cheaper
    assetsInlineLimit: 0,
  },
})
