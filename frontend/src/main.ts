import { mount } from 'svelte'
import './app.css'
import App from './App.svelte'
import { connect } from './api'

// Wails injects its runtime and the bindings before this module runs;
// without them the page talks HTTP to the server that served it.
const app = mount(App, {
  target: document.getElementById('app')!,
  props: { api: connect() },
})

export default app
