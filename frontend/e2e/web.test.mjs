// Browser test of the web mode against the real engine: the real binary
// (build/bin/berth ui --web) serves the dashboard over a copy of
// environments/, Debian's chromium drives it through playwright-core. It
// brings the shop up from the UI under a unique name, sees it turn running,
// stops a container from outside and sees the change arrive without a
// reload, reads logs, brings it down confirming the plan, and checks that
// nothing is left. Screenshots of each step go to build/artifacts/playwright/.
//
//   node --test e2e/          (scripts/test-browser.sh runs it)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { docker, finish, freePort, launch, listen, repoRoot, reportFailure, shots, startServer } from './harness.mjs'

test('web mode: up, live state, logs and down of the shop from the UI', { timeout: 15 * 60 * 1000 }, async () => {
  mkdirSync(shots, { recursive: true })
  const tmp = mkdtempSync(join(tmpdir(), 'berth-pw-'))
  const defs = join(tmp, 'environments')
  cpSync(join(repoRoot, 'environments'), defs, { recursive: true })
  const name = `pw-shop-${Math.random().toString(36).slice(2, 8)}`
  const env = {
    ...process.env,
    SHOP_WEB_PORT: String(await freePort()),
    SHOP_DB_PORT: String(await freePort()),
    XDG_CONFIG_HOME: join(tmp, 'config'), // no saved settings of the user's
  }
  const server = startServer(env, ['--definitions', defs])
  let browser
  const shot = (page, step) => page.screenshot({ path: join(shots, `${step}.png`), fullPage: true })
  try {
    const url = await server.url
    // A fresh profile for each run.
    browser = await launch(join(tmp, 'chromium'), { width: 1400, height: 900 })
    const page = browser.pages()[0] ?? (await browser.newPage())
    await page.goto(url)
    await page.getByTestId('new-env').waitFor()
    await shot(page, '01-opened')

    // The token came in the URL's fragment: it is gone from the address
    // bar, no cookie holds it (a cookie of 127.0.0.1 would go to every
    // port, the containers' too), and a server on another port of
    // 127.0.0.1 gets neither a cookie nor the token from this browser.
    const token = new URL(url).hash.replace('#token=', '')
    assert.ok(token.length >= 32, `no token in ${url}`)
    assert.ok(!page.url().includes(token), `the token stayed in the address bar: ${page.url()}`)
    assert.deepEqual(await browser.cookies(), [])
    assert.deepEqual(await browser.cookies(['http://127.0.0.1', new URL(url).origin]), [])
    const other = await listen()
    try {
      const tab = await browser.newPage()
      await tab.goto(other.url)
      await tab.close()
      assert.equal(other.seen.length >= 1, true)
      for (const h of other.seen) {
        assert.equal(h.cookie, undefined, `another port got a cookie: ${h.cookie}`)
        assert.ok(!JSON.stringify(h).includes(token), 'another port got the token')
      }
    } finally {
      other.close()
    }
    // A reload keeps working: the tab kept the token.
    await page.reload()
    await page.getByTestId('new-env').waitFor()
    await page.getByTestId('new-env').click()
    await page.getByTestId('new-env-definition').locator('option[value="shop"]').waitFor({ state: 'attached' })
    await page.getByTestId('new-env-dialog').getByRole('button', { name: 'Cancel' }).click()
    await page.getByTestId('new-env-dialog').waitFor({ state: 'detached' })
    assert.deepEqual(await browser.cookies(), [])

    // New environment from the shop definition, under a unique name.
    await page.getByTestId('new-env').click()
    await page.getByTestId('new-env-definition').selectOption('shop')
    await page.getByTestId('new-env-name').fill(name)
    await page.getByTestId('new-env-plan').click()
    // The first action on the shop asks for trust first: what it can do
    // on this machine, before anything is planned.
    await page.getByTestId('trust-dialog').waitFor()
    const asked = await page.getByTestId('trust-dialog').innerText()
    assert.match(asked, /Trust shop\?/)
    assert.match(asked, /publishes port 80\/tcp of web as \d+ on every network interface/)
    assert.match(asked, /reads \$SHOP_WEB_PORT from your environment/)
    assert.match(asked, /builds the image of api and worker from api\//)
    assert.equal(await page.getByTestId('plan-dialog').count(), 0, 'a plan before the definition was trusted')
    await shot(page, '02-trust')
    await page.getByTestId('trust-grant').click()
    await page.getByTestId('plan-dialog').waitFor()
    assert.match(await page.getByTestId('plan-dialog').innerText(), /create-container/)
    await shot(page, '02-plan')
    await page.getByTestId('plan-confirm').click()

    // It turns running (building the api image may take minutes).
    await page.getByTestId(`env-state-${name}`).locator('[data-state="running"]').waitFor({ timeout: 10 * 60 * 1000 })
    await page.getByTestId(`env-${name}`).click()
    await page.getByTestId(`svc-state-${name}-cache`).locator('[data-state="running"]').waitFor()
    // The definition's trust on its page: granted from the app.
    await page.getByTestId('trust-panel').getByText(/trusted since/).waitFor()
    await shot(page, '03-running')

    // Stopped from outside: the UI follows without a reload.
    docker('stop', '-t', '2', `${name}-cache-1`)
    // Stopped, or failed when the process did not exit cleanly on SIGTERM.
    const notRunning = '[data-state="stopped"], [data-state="failed"]'
    await page.getByTestId(`svc-state-${name}-cache`).locator(notRunning).waitFor({ timeout: 30000 })
    await page.getByTestId(`env-state-${name}`).locator('[data-state="partial"], [data-state="failed"]').waitFor({ timeout: 30000 })
    await shot(page, '04-stopped-outside')

    // Logs.
    await page.getByTestId(`logs-${name}`).click()
    await page.getByTestId('logs-panel').waitFor()
    await page.getByTestId('log-line').first().waitFor({ timeout: 30000 })
    // Before the search some line shown does not hold the text; after it,
    // every line shown does.
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="log-line"]')]
      .some((l) => !l.textContent.includes('database system is ready')), null, { timeout: 30000 })
    await page.getByTestId('logs-search').fill('database system is ready')
    await page.waitForFunction(() => {
      const lines = [...document.querySelectorAll('[data-testid="log-line"]')]
      return lines.length > 0 && lines.every((l) => l.textContent.includes('database system is ready'))
    }, null, { timeout: 30000 })
    const shown = await page.getByTestId('log-line').allInnerTexts()
    assert.ok(shown.length > 0 && shown.every((l) => l.includes('database system is ready')), `lines shown for the search: ${shown.join(' | ')}`)
    await shot(page, '05-logs')

    // Down, confirming the plan.
    await page.getByTestId(`down-${name}`).click()
    await page.getByTestId('plan-dialog').waitFor()
    assert.match(await page.getByTestId('plan-dialog').innerText(), /remove-container/)
    await shot(page, '06-down-plan')
    await page.getByTestId('plan-confirm').click()
    await page.getByTestId(`env-${name}`).waitFor({ state: 'detached', timeout: 120000 })
    await shot(page, '07-down')
    assert.equal(docker('ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${name}`), '')
  } catch (e) {
    await reportFailure(browser, server, shot)
    throw e
  } finally {
    await finish({ browser, server, name, tmp })
  }
})
