// Browser test of the Databases view in the web mode, against the real
// binary, the real engine and a real PostgreSQL 15. A temporary Git repo
// holds a definition with one database whose source is a small plain SQL
// seed. From the UI: make the environment (its database is cloned from the
// seed before it starts), take a snapshot; from outside, psql inserts a row
// first and deletes every row after the snapshot; from the UI again,
// restore the snapshot (asked to confirm first); psql sees the rows back.
// Screenshots go to build/artifacts/playwright/ (db-*.png).
//
//   node --test e2e/          (scripts/test-browser.sh runs it)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { docker, finish, gitIn, launch, newEnvironment, reportFailure, shots, startServer } from './harness.mjs'

const compose = `services:
  db:
    image: postgres:15
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: app-pw
      POSTGRES_DB: app
    volumes:
      - data:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", "app", "-d", "app"]
      interval: 1s
      timeout: 3s
      retries: 60
volumes:
  data:
`

const manifest = `name: pgdb
health:
  timeout: 120s
databases:
  - service: db
    engine: postgres
    source:
      seed: seed/app.sql
`

/** psql runs one query in env's db container (retrying while the server starts) and returns its output. */
async function psql(name, query) {
  for (let i = 0; ; i++) {
    try {
      return execFileSync('docker', ['exec', '-e', 'PGPASSWORD=app-pw', `${name}-db-1`, 'psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1',
        '-h', '127.0.0.1', '-U', 'app', '-d', 'app', '-c', query], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
    } catch (e) {
      const why = `${e.stderr ?? ''}${e.message}`
      if (i > 150 || !/Connection refused|starting up|shutting down|is not running|No such container|restarting/.test(why)) throw e
      await new Promise((ok) => setTimeout(ok, 300))
    }
  }
}

test('web mode: snapshot and restore a database from the UI', { timeout: 10 * 60 * 1000 }, async () => {
  mkdirSync(shots, { recursive: true })
  const tmp = mkdtempSync(join(tmpdir(), 'berth-pw-db-'))
  const repo = join(tmp, 'repo')
  const def = join(repo, 'environments', 'pgdb')
  mkdirSync(join(def, 'seed'), { recursive: true })
  const name = `pw-db-${Math.random().toString(36).slice(2, 8)}`
  const git = gitIn(repo)
  git('init', '-q', '-b', 'main')
  writeFileSync(join(def, 'berth.yaml'), manifest)
  writeFileSync(join(def, 'compose.yaml'), compose)
  // The seed is unique to this run, so its golden copy is this test's own.
  writeFileSync(join(def, 'seed', 'app.sql'), `CREATE TABLE notes (id serial PRIMARY KEY, body text);\nINSERT INTO notes (body) VALUES ('seeded');\n-- ${name}\n`)
  git('add', '-A')
  git('commit', '-q', '-m', 'pgdb with a seed')

  const env = { ...process.env, XDG_CONFIG_HOME: join(tmp, 'config') }
  const server = startServer(env, ['--repo', repo, '--definitions', join(repo, 'environments'), '--state-dir', join(tmp, 'state')])
  let browser
  let golden = ''
  const shot = (page, step) => page.screenshot({ path: join(shots, `db-${step}.png`), fullPage: true })
  try {
    const url = await server.url
    browser = await launch(join(tmp, 'chromium'), { width: 1400, height: 1200 })
    const page = browser.pages()[0] ?? (await browser.newPage())
    await page.goto(url)

    // The environment: its database is cloned from the seed as it comes up.
    await newEnvironment(page, 'pgdb', name, 180000)

    const panel = page.getByTestId(`databases-${name}`)
    await panel.getByTestId(`db-${name}-db`).waitFor({ timeout: 30000 })
    assert.equal(await panel.getByTestId(`db-source-${name}-db`).innerText(), 'seed seed/app.sql')
    assert.notEqual((await panel.getByTestId(`db-strategy-${name}-db`).innerText()).trim(), '—')
    assert.equal(await psql(name, 'SELECT string_agg(body, \',\' ORDER BY id) FROM notes'), 'seeded')
    // The API as a script calls it: with the token as a bearer token.
    const token = new URL(url).hash.replace('#token=', '')
    golden = await page.evaluate(
      async ([n, t]) => (await (await fetch(`/api/environments/${n}/databases`, { headers: { Authorization: `Bearer ${t}` } })).json())[0].golden?.volume ?? '',
      [name, token],
    )
    await shot(page, '01-databases')

    // A row from outside, then a snapshot from the UI.
    await psql(name, "INSERT INTO notes (body) VALUES ('from the test')")
    await panel.getByTestId(`db-snapshot-name-${name}-db`).fill('pw-snap')
    await panel.getByTestId(`db-snapshot-${name}-db`).click()
    const snapRow = panel.getByTestId(`snapshot-${name}-pw-snap`)
    await snapRow.waitFor({ timeout: 120000 })
    assert.match(await snapRow.innerText(), /by hand/)
    assert.equal(await panel.getByTestId(`db-error-${name}`).count(), 0)
    await shot(page, '02-snapshot')

    // Every row deleted from outside.
    await psql(name, 'DELETE FROM notes')
    assert.equal(await psql(name, 'SELECT count(*) FROM notes'), '0')

    // Restore asks first; Cancel leaves the data alone.
    await panel.getByTestId(`restore-${name}-pw-snap`).click()
    await panel.getByTestId('db-confirm').waitFor()
    assert.match(await panel.getByTestId('db-confirm').innerText(), /current content is replaced/)
    await shot(page, '03-restore-confirm')
    await panel.getByTestId('db-confirm-no').click()
    assert.equal(await psql(name, 'SELECT count(*) FROM notes'), '0')

    // Restore for real: progress shows, then the rows are back.
    await panel.getByTestId(`restore-${name}-pw-snap`).click()
    await panel.getByTestId('db-confirm-yes').click()
    await page.getByText(`db restore pw-snap done`).first().waitFor({ timeout: 180000 })
    assert.equal(await panel.getByTestId(`db-error-${name}`).count(), 0)
    assert.equal(await psql(name, 'SELECT string_agg(body, \',\' ORDER BY id) FROM notes'), 'seeded,from the test')
    await shot(page, '04-restored')

    // Remove the snapshot (asked first).
    await panel.getByTestId(`remove-${name}-pw-snap`).click()
    await panel.getByTestId('db-confirm-yes').click()
    await snapRow.waitFor({ state: 'detached', timeout: 60000 })
    await shot(page, '05-removed')
  } catch (e) {
    await reportFailure(browser, server, shot)
    throw e
  } finally {
    await finish({
      browser, server, name, tmp,
      extra: () => {
        const vols = docker('volume', 'ls', '-q', '--filter', `label=dev.berth.db-env=${name}`).split('\n').filter(Boolean)
        if (golden) vols.push(golden, `${golden}-ready`)
        for (const v of vols) execFileSync('docker', ['volume', 'rm', '-f', v], { stdio: 'ignore' })
      },
    })
  }
})
