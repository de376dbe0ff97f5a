import { mount } from 'svelte'
import './app.css'
import App from './App.svelte'
import { connect } from './api'
import { markFirstFrame } from './lib/stores/berth.svelte'

// Wails injects its runtime and the bindings before this module runs;
// without them the page talks HTTP to the server that served it.
// The page's first frame, whatever it shows: start-up marks report it
// (see startupMarks) to tell painting the page from loading its data.
if (typeof requestAnimationFrame === 'function') {
  requestAnimationFrame(() => requestAnimationFrame(() => markFirstFrame()))
}

const app = mount(App, {
  target: document.getElementById('app')!,
  props: { api: connect() },
})

export default app
