// Browser test of copies, variants and secrets from the app: a probe
// definition that declares a required secret and a variant, and publishes
// a host port this test already holds. Through the New environment dialog
// the test gives the secret, picks the variant and makes the environment;
// the plan shows the port moved off the taken one, and the app's port link
// follows it. A second environment from the same definition (a copy) asks
// for no secret and moves to yet another port. Both answer on the ports
// the app shows, with the secret in their environment; the secret's value
// is in no page, no server output and no file of Berth's state folder.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cleanup, finish, launch, probe, reportFailure, shots, startServer, trustIfAsked } from './harness.mjs'

/** hold listens on a free port of every interface and resolves with it and a close function. */
function hold() {
  return new Promise((ok, fail) => {
    const s = createServer()
    s.on('error', fail)
    s.listen(0, '0.0.0.0', () => ok({ port: s.address().port, close: () => s.close() }))
  })
}

function filesUnder(dir) {
  const out = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...filesUnder(p))
    else if (e.isFile() && statSync(p).size < 64 << 20) out.push(p)
  }
  return out
}

test('copies from the app: a secret asked for, a variant picked, taken ports moved', { timeout: 10 * 60 * 1000 }, async () => {
  mkdirSync(shots, { recursive: true })
  const tmp = mkdtempSync(join(tmpdir(), 'berth-pw-copies-'))
  const defs = join(tmp, 'environments')
  const held = await hold()
  const secretValue = `pw-secret-${Math.random().toString(36).slice(2, 12)}`
  mkdirSync(join(defs, 'copyme'), { recursive: true })
  writeFileSync(
    join(defs, 'copyme', 'berth.yaml'),
    `name: copyme
secrets:
  - name: COPY_TOKEN
    description: the token the web service presents
variants:
  blue:
    description: the blue one
    environment:
      COLOR: blue
`,
  )
  writeFileSync(
    join(defs, 'copyme', 'compose.yaml'),
    `services:
  web:
    image: ${probe}
    environment:
      COLOR: \${COLOR:-plain}
      TOKEN: \${COPY_TOKEN}
    ports:
      - "${held.port}:8080"
`,
  )
  const suffix = Math.random().toString(36).slice(2, 8)
  const first = `pw-copy-a-${suffix}`
  const second = `pw-copy-b-${suffix}`
  const env = {
    ...process.env,
    XDG_CONFIG_HOME: join(tmp, 'config'),
    BERTH_STATE_DIR: join(tmp, 'state'),
    BERTH_SECRET_STORE: 'file',
  }
  const server = startServer(env, ['--definitions', defs])
  let browser
  const shot = (page, step) => page.screenshot({ path: join(shots, `copies-${step}.png`), fullPage: true })
  const portOf = async (page, name) => {
    const link = page.getByTestId(new RegExp(`^port-${name}-web-\\d+$`))
    await link.waitFor()
    return Number((await link.getAttribute('data-testid')).split('-').pop())
  }
  try {
    browser = await launch(join(tmp, 'chromium'), { width: 1400, height: 900 })
    const page = browser.pages()[0] ?? (await browser.newPage())
    await page.goto(await server.url)

    // The first: the dialog asks for the secret and offers the variant.
    await page.getByTestId('new-env').click()
    await page.getByTestId('new-env-definition').selectOption('copyme')
    await page.getByTestId('new-env-name').fill(first)
    await page.getByTestId('new-env-secrets').waitFor()
    assert.ok(await page.getByTestId('new-env-plan').isDisabled(), 'the dialog would go on without the required secret')
    await page.getByTestId('new-env-secret-COPY_TOKEN').fill(secretValue)
    await page.getByTestId('new-env-variant').selectOption('blue')
    await shot(page, '01-dialog')
    await page.getByTestId('new-env-plan').click()
    await trustIfAsked(page)
    const moves = await page.getByTestId('plan-port-move').allInnerTexts()
    assert.ok(moves.some((m) => m.includes(`instead of ${held.port}`)), `the plan shows no move off the held port: ${moves}`)
    await shot(page, '02-plan')
    await page.getByTestId('plan-confirm').click()
    await page.getByTestId(`env-state-${first}`).locator('[data-state="running"]').waitFor({ timeout: 120000 })
    await page.getByTestId(`env-${first}`).click()
    await page.getByTestId(`variant-${first}`).waitFor()
    const port1 = await portOf(page, first)
    assert.notEqual(port1, held.port)
    await shot(page, '03-first')

    // The copy: the secret is set now, so nothing is asked for it.
    await page.getByTestId('new-env').click()
    await page.getByTestId('new-env-definition').selectOption('copyme')
    await page.getByTestId('new-env-name').fill(second)
    assert.equal(await page.getByTestId('new-env-secrets').count(), 0, 'the dialog asks again for a secret that is set')
    await page.getByTestId('new-env-variant').selectOption('blue')
    await page.getByTestId('new-env-plan').click()
    await trustIfAsked(page)
    await page.getByTestId('plan-confirm').click()
    await page.getByTestId(`env-state-${second}`).locator('[data-state="running"]').waitFor({ timeout: 120000 })
    await page.getByTestId(`env-${second}`).click()
    const port2 = await portOf(page, second)
    assert.ok(port2 !== held.port && port2 !== port1, `the copy publishes on ${port2} (held ${held.port}, first ${port1})`)
    await shot(page, '04-copy')

    // Both answer where the app says, as the blue variant, with the secret.
    for (const port of [port1, port2]) {
      const res = await fetch(`http://127.0.0.1:${port}/`)
      const body = await res.json()
      assert.equal(body.env.COLOR, 'blue')
      assert.equal(body.env.TOKEN, secretValue)
    }

    // The value is nowhere Berth shows or keeps it.
    assert.ok(!(await page.content()).includes(secretValue), 'the page holds the secret')
    assert.ok(!server.output().includes(secretValue), 'the server printed the secret')
    const files = filesUnder(join(tmp, 'state'))
    assert.ok(files.length >= 3, `the state folder holds ${files.length} files`)
    for (const f of files) assert.ok(!readFileSync(f).includes(secretValue), `${f} holds the secret in clear text`)
  } catch (e) {
    await reportFailure(browser, server, shot)
    throw e
  } finally {
    held.close()
    await finish({ browser, server, name: first, tmp, extra: () => cleanup(second) })
  }
})
