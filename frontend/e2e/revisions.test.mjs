// Browser test of revisions, deploy, rollback and history in the web mode,
// against the real binary and the real engine. A temporary Git repo (made
// with the git CLI) holds a small definition on the probe image, committed
// twice with a different V for its web service. From the UI: make the
// environment, deploy the older commit, then the newer, roll back, and read
// the history; `docker inspect` checks the V web runs with. Screenshots go
// to build/artifacts/playwright/ (rev-*.png).
//
//   node --test e2e/          (scripts/test-browser.sh runs it)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { docker, finish, gitIn, launch, newEnvironment, probe, reportFailure, shots, startServer } from './harness.mjs'

const compose = (v) => `services:
  web:
    image: ${probe}
    command: ["serve"]
    environment:
      V: "${v}"
    healthcheck:
      test: ["CMD", "/probe", "health"]
      interval: 1s
      timeout: 2s
      retries: 2
  side:
    image: ${probe}
    command: ["sleep"]
`

/** The V the web container of env runs with, read with docker inspect. */
function webV(name) {
  const envs = docker('inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', `${name}-web-1`).split('\n')
  return envs.find((e) => e.startsWith('V='))?.slice(2)
}

test('web mode: deploy revisions, roll back and read the history from the UI', { timeout: 10 * 60 * 1000 }, async () => {
  mkdirSync(shots, { recursive: true })
  const tmp = mkdtempSync(join(tmpdir(), 'berth-pw-rev-'))
  const repo = join(tmp, 'repo')
  const def = join(repo, 'environments', 'probe')
  mkdirSync(def, { recursive: true })
  const git = gitIn(repo)
  git('init', '-q', '-b', 'main')
  writeFileSync(join(def, 'berth.yaml'), 'name: probe\ncompose: [compose.yaml]\nhealth:\n  timeout: 60s\n')
  writeFileSync(join(def, 'compose.yaml'), compose('1'))
  git('add', '-A')
  git('commit', '-q', '-m', 'web: V=1')
  const v1 = git('rev-parse', '--short=7', 'HEAD')
  writeFileSync(join(def, 'compose.yaml'), compose('2'))
  git('commit', '-q', '-am', 'web: V=2')
  const v2 = git('rev-parse', '--short=7', 'HEAD')

  const name = `pw-rev-${Math.random().toString(36).slice(2, 8)}`
  const env = { ...process.env, XDG_CONFIG_HOME: join(tmp, 'config') }
  const server = startServer(env, ['--repo', repo, '--definitions', join(repo, 'environments'), '--state-dir', join(tmp, 'state')])
  let browser
  const shot = (page, step) => page.screenshot({ path: join(shots, `rev-${step}.png`), fullPage: true })
  const deployed = (page, short) => page.getByTestId(`rev-${short}`).and(page.locator('[data-deployed="true"]'))
  try {
    const url = await server.url
    browser = await launch(join(tmp, 'chromium'), { width: 1400, height: 1000 })
    const page = browser.pages()[0] ?? (await browser.newPage())
    await page.goto(url)

    // The environment, from the definition in the working tree (V=2).
    await newEnvironment(page, 'probe', name)

    // The timeline: both commits, newest first.
    const revs = page.getByTestId(`revisions-${name}`)
    await revs.getByTestId(`rev-${v1}`).waitFor()
    assert.match(await revs.getByTestId(`rev-${v2}`).innerText(), /web: V=2/)
    assert.match(await revs.getByTestId(`rev-${v1}`).innerText(), /Ada/)
    await shot(page, '01-revisions')

    // Deploy the older commit: plan first, then live progress, then marked.
    await page.getByTestId(`deploy-${v1}`).click()
    await page.getByTestId('plan-dialog').waitFor()
    assert.match(await page.getByTestId('plan-dialog').innerText(), new RegExp(`Deploy ${v1}`))
    await shot(page, '02-deploy-plan')
    await page.getByTestId('plan-confirm').click()
    await page.getByTestId(`progress-${name}`).waitFor()
    await deployed(page, v1).waitFor({ timeout: 120000 })
    await page.getByTestId(`svc-state-${name}-web`).locator('[data-state="running"]').waitFor({ timeout: 60000 })
    assert.equal(webV(name), '1')
    await page.getByTestId(`update-${name}`).waitFor()
    await shot(page, '03-deployed-v1')

    // The newer one.
    await page.getByTestId(`deploy-${v2}`).click()
    await page.getByTestId('plan-dialog').waitFor()
    await page.getByTestId('plan-confirm').click()
    await deployed(page, v2).waitFor({ timeout: 120000 })
    assert.equal(webV(name), '2')
    await page.getByTestId(`update-${name}`).waitFor({ state: 'detached' })
    await shot(page, '04-deployed-v2')

    // Rollback, one click away in the header.
    await page.getByTestId(`rollback-${name}`).click()
    await page.getByTestId('plan-dialog').waitFor()
    assert.match(await page.getByTestId('plan-dialog').innerText(), new RegExp(`Roll back ${name} to ${v1}`))
    await shot(page, '05-rollback-plan')
    await page.getByTestId('plan-confirm').click()
    await deployed(page, v1).waitFor({ timeout: 120000 })
    assert.equal(webV(name), '1')

    // The history: rollback, deploy, deploy (and the first up), filterable.
    const hist = page.getByTestId(`history-${name}`)
    const rows = hist.getByTestId('history-row')
    await hist.locator('[data-testid="history-row"][data-kind="rollback"]').waitFor()
    const kinds = async () => rows.evaluateAll((rs) => rs.map((r) => `${r.dataset.kind}:${r.dataset.status}`))
    assert.deepEqual(await kinds(), ['rollback:succeeded', 'deploy:succeeded', 'deploy:succeeded', 'up:succeeded'])
    await shot(page, '06-history')
    await hist.getByTestId('history-kind').selectOption('deploy')
    await page.waitForFunction((n) => document.querySelectorAll(`[data-testid="history-${n}"] [data-testid="history-row"]`).length === 2, name)
    assert.deepEqual(await kinds(), ['deploy:succeeded', 'deploy:succeeded'])
    await hist.getByTestId('history-status').selectOption('failed')
    await hist.getByText('Nothing recorded that matches').waitFor()
    await shot(page, '07-history-filtered')
  } catch (e) {
    await reportFailure(browser, server, shot)
    throw e
  } finally {
    await finish({ browser, server, name, tmp })
  }
})
