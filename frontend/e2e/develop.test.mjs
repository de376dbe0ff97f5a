// Browser test of live development in the web mode, against the real
// binary and the real engine. A definitions folder holds a service whose
// develop.watch syncs src/ into /app/src. The UI makes the environment and
// turns Watch on; a file written on the host shows up in the container
// (docker exec cat) and its "synced" line under the toggle; Watch off ends
// the watch. Every wait is on the page or the engine, with a deadline.
// Screenshots go to build/artifacts/playwright/ (develop-*.png).
//
//   node --test e2e/          (scripts/test-browser.sh runs it)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { docker, finish, launch, newEnvironment, reportFailure, shots, startServer } from './harness.mjs'

const compose = `services:
  app:
    image: debian:bookworm-slim
    command: [sleep, infinity]
    stop_signal: SIGKILL
    develop:
      watch:
        - {action: sync, path: ./src, target: /app/src}
`

test('web mode: the Watch toggle syncs edits into the running container', { timeout: 10 * 60 * 1000 }, async () => {
  mkdirSync(shots, { recursive: true })
  const tmp = mkdtempSync(join(tmpdir(), 'berth-pw-dev-'))
  const defs = join(tmp, 'environments')
  const def = join(defs, 'dev')
  mkdirSync(join(def, 'src'), { recursive: true })
  writeFileSync(join(def, 'berth.yaml'), 'name: dev\n')
  writeFileSync(join(def, 'compose.yaml'), compose)
  writeFileSync(join(def, 'src', 'keep.js'), 'keep\n')

  const name = `pw-dev-${Math.random().toString(36).slice(2, 8)}`
  const env = { ...process.env, XDG_CONFIG_HOME: join(tmp, 'config') }
  const server = startServer(env, ['--definitions', defs, '--state-dir', join(tmp, 'state')])
  let browser
  const shot = (page, step) => page.screenshot({ path: join(shots, `develop-${step}.png`), fullPage: true })
  try {
    const url = await server.url
    browser = await launch(join(tmp, 'chromium'), { width: 1400, height: 900 })
    const page = browser.pages()[0] ?? (await browser.newPage())
    await page.goto(url)
    await newEnvironment(page, 'dev', name)

    const toggle = page.getByTestId(`watch-${name}`)
    await toggle.waitFor()
    assert.equal(await toggle.getAttribute('aria-pressed'), 'false')
    await toggle.click()
    await page.locator(`[data-testid="watch-${name}"][aria-pressed="true"]`).waitFor({ timeout: 30000 })
    await shot(page, '01-watching')

    writeFileSync(join(def, 'src', 'app.js'), 'console.log("from the browser test")\n')
    const list = page.getByTestId(`dev-${name}`)
    await list.getByText('synced app: src/app.js → /app/src/app.js').waitFor({ timeout: 30000 })
    assert.equal(docker('exec', `${name}-app-1`, 'cat', '/app/src/app.js'), 'console.log("from the browser test")')
    await shot(page, '02-synced')

    await toggle.click()
    await page.locator(`[data-testid="watch-${name}"][aria-pressed="false"]`).waitFor({ timeout: 30000 })
    await shot(page, '03-stopped')
  } catch (e) {
    await reportFailure(browser, server, shot)
    throw e
  } finally {
    await finish({ browser, server, name, tmp })
  }
})
