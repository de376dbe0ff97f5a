// Browser test of drift in the web mode, against the real binary and the
// real engine. A temporary Git repo holds a probe definition; the UI makes
// the environment, which reports in sync. From outside, `docker update`
// gives its web container a memory limit the definition does not declare:
// without a reload the list shows a drift badge and the Drift view the
// field. Heal from the UI (plan shown first): the badge goes away and
// docker inspect shows the committed state (no limit) again.
// Screenshots go to build/artifacts/playwright/ (drift-*.png).
//
//   node --test e2e/          (scripts/test-browser.sh runs it)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { docker, finish, gitIn, launch, newEnvironment, probe, reportFailure, shots, startServer } from './harness.mjs'

const compose = `services:
  web:
    image: ${probe}
    command: ["serve"]
    environment:
      V: "1"
    healthcheck:
      test: ["CMD", "/probe", "health"]
      interval: 1s
      timeout: 2s
      retries: 2
`

test('web mode: drift made from outside shows up live and is healed from the UI', { timeout: 10 * 60 * 1000 }, async () => {
  mkdirSync(shots, { recursive: true })
  const tmp = mkdtempSync(join(tmpdir(), 'berth-pw-drift-'))
  const repo = join(tmp, 'repo')
  const def = join(repo, 'environments', 'probe')
  mkdirSync(def, { recursive: true })
  const git = gitIn(repo)
  git('init', '-q', '-b', 'main')
  writeFileSync(join(def, 'berth.yaml'), 'name: probe\ncompose: [compose.yaml]\nhealth:\n  timeout: 60s\n')
  writeFileSync(join(def, 'compose.yaml'), compose)
  git('add', '-A')
  git('commit', '-q', '-m', 'probe')

  const name = `pw-drift-${Math.random().toString(36).slice(2, 8)}`
  const env = { ...process.env, XDG_CONFIG_HOME: join(tmp, 'config') }
  const server = startServer(env, ['--repo', repo, '--definitions', join(repo, 'environments'), '--state-dir', join(tmp, 'state')])
  let browser
  const shot = (page, step) => page.screenshot({ path: join(shots, `drift-${step}.png`), fullPage: true })
  const memory = () => docker('inspect', '--format', '{{.HostConfig.Memory}}', `${name}-web-1`)
  try {
    const url = await server.url
    browser = await launch(join(tmp, 'chromium'), { width: 1400, height: 1100 })
    const page = browser.pages()[0] ?? (await browser.newPage())
    await page.goto(url)

    await newEnvironment(page, 'probe', name)

    // Freshly made: in sync, no badge.
    const view = page.getByTestId(`drift-${name}`)
    await view.locator('[data-drift="in-sync"]').waitFor({ timeout: 30000 })
    assert.equal(await page.getByTestId(`drift-badge-${name}`).count(), 0)
    await shot(page, '01-in-sync')

    // From outside: a memory limit the definition does not declare.
    assert.equal(memory(), '0')
    docker('update', '--memory', '64m', '--memory-swap', '128m', `${name}-web-1`)
    const t0 = Date.now()
    await page.getByTestId(`drift-badge-${name}`).waitFor({ timeout: 30000 })
    const seen = Date.now() - t0
    const item = view.locator('[data-testid="drift-item"][data-path*="memory"]')
    await item.first().waitFor({ timeout: 10000 })
    const row = await item.first().innerText()
    assert.match(row, /web/)
    assert.match(row, /67108864|64/)
    await view.locator('[data-drift="drifted"]').waitFor()
    console.log(`drift badge shown ${seen} ms after docker update`)
    await shot(page, '02-drifted')

    // Ignore explains the rule to add; nothing is changed.
    await item.first().getByTestId('drift-ignore').click()
    const rule = await view.getByTestId(`drift-ignore-rule-${name}`).locator('pre').innerText()
    assert.match(rule, /drift:\n {2}ignore:\n {4}- service: web\n {6}path: \/\S*memory/)
    await shot(page, '03-ignore-rule')

    // Heal: the plan first, then applied.
    await view.getByTestId(`heal-${name}`).click()
    await page.getByTestId('plan-dialog').waitFor()
    assert.match(await page.getByTestId('plan-dialog').innerText(), new RegExp(`Heal ${name}`))
    await shot(page, '04-heal-plan')
    await page.getByTestId('plan-confirm').click()
    await page.getByTestId(`drift-badge-${name}`).waitFor({ state: 'detached', timeout: 120000 })
    await view.locator('[data-drift="in-sync"]').waitFor({ timeout: 30000 })
    await page.getByTestId(`svc-state-${name}-web`).locator('[data-state="running"]').waitFor({ timeout: 60000 })
    assert.equal(memory(), '0')
    await shot(page, '05-healed')
  } catch (e) {
    await reportFailure(browser, server, shot)
    throw e
  } finally {
    await finish({ browser, server, name, tmp })
  }
})
