// Browser test of the first screen and Open repository: with nothing
// running on the engine the app lists the definitions of the open folder
// with their description and the preflight's verdict (an untrusted
// definition says so, with the fix). Open repository switches to another
// repo (a Git checkout in a folder); its definition's Up button trusts,
// plans and brings it up, and it answers on its port.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cleanup, finish, freePort, gitIn, launch, probe, reportFailure, shots, startServer, trustIfAsked } from './harness.mjs'

/** definition writes a probe definition publishing port (on every interface when wide: a capability to trust). */
function definition(dir, name, description, port, wide = false) {
  mkdirSync(join(dir, name), { recursive: true })
  writeFileSync(join(dir, name, 'berth.yaml'), `name: ${name}\ndescription: ${description}\n`)
  writeFileSync(join(dir, name, 'compose.yaml'), `services:\n  web:\n    image: ${probe}\n    ports:\n      - "${wide ? '' : '127.0.0.1:'}${port}:8080"\n`)
}

test('first screen: definitions with their preflight, Open repository, Up', { timeout: 10 * 60 * 1000 }, async () => {
  mkdirSync(shots, { recursive: true })
  const tmp = mkdtempSync(join(tmpdir(), 'berth-pw-home-'))
  const suffix = Math.random().toString(36).slice(2, 8)
  const firstName = `pw-home-a-${suffix}`
  const secondName = `pw-home-b-${suffix}`
  const first = join(tmp, 'first', 'environments')
  definition(first, firstName, 'the first folder', await freePort(), true)
  const repo = join(tmp, 'team-repo')
  const port = await freePort()
  definition(join(repo, 'environments'), secondName, 'a team definition from a Git repo', port)
  const git = gitIn(repo)
  git('init', '-q', '-b', 'main')
  git('add', '-A')
  git('commit', '-q', '-m', 'the team definition')

  const env = { ...process.env, XDG_CONFIG_HOME: join(tmp, 'config'), BERTH_STATE_DIR: join(tmp, 'state'), BERTH_SECRET_STORE: 'file' }
  delete env.BERTH_DEFINITIONS
  const server = startServer(env, ['--definitions', first])
  let browser
  const shot = (page, step) => page.screenshot({ path: join(shots, `home-${step}.png`), fullPage: true })
  try {
    browser = await launch(join(tmp, 'chromium'), { width: 1400, height: 900 })
    const page = browser.pages()[0] ?? (await browser.newPage())
    await page.goto(await server.url)

    // The first screen lists the definition, with its description and the
    // preflight's verdict. (On an engine where other tests' environments
    // run, the app selects one of them first: Definitions goes back.)
    const home = page.getByTestId('definitions-home')
    await Promise.race([home.waitFor({ timeout: 30000 }), page.locator('[data-environment]').first().waitFor({ timeout: 30000 })])
    if (!(await home.isVisible())) await page.getByTestId('home-button').click()
    await home.waitFor()
    const card = page.getByTestId(`home-def-${firstName}`)
    await card.waitFor()
    assert.match(await card.innerText(), /the first folder/)
    await page.getByTestId(`home-verdict-${firstName}`).waitFor({ timeout: 30000 })
    const trust = page.getByTestId(`home-checks-${firstName}`).locator('[data-check="trust"]')
    assert.equal(await trust.getAttribute('data-status'), 'fail')
    assert.match(await trust.innerText(), /berth trust/)
    assert.ok(await page.getByTestId(`home-up-${firstName}`).isEnabled(), 'Up is disabled though only trust (asked by the up) is missing')
    await shot(page, '01-first-screen')

    // Open repository: the team's checkout.
    await page.getByTestId('open-repo').click()
    await page.getByTestId('open-repo-where').fill(repo)
    await page.getByTestId('open-repo-go').click()
    await page.getByTestId(`home-def-${secondName}`).waitFor({ timeout: 30000 })
    assert.equal(await page.getByTestId(`home-def-${firstName}`).count(), 0, 'the first folder is still listed')
    await page.getByTestId(`home-verdict-${secondName}`).waitFor({ timeout: 30000 })
    await shot(page, '02-opened')

    // Up: trust, plan, confirm; it runs and answers.
    await page.getByTestId(`home-up-${secondName}`).click()
    await trustIfAsked(page)
    await page.getByTestId('plan-confirm').click()
    await page.getByTestId(`env-state-${secondName}`).locator('[data-state="running"]').waitFor({ timeout: 120000 })
    const res = await fetch(`http://127.0.0.1:${port}/`)
    assert.equal(res.status, 200)
    await shot(page, '03-up')
  } catch (e) {
    await reportFailure(browser, server, shot)
    throw e
  } finally {
    await finish({ browser, server, name: secondName, tmp, extra: () => cleanup(firstName) })
  }
})
