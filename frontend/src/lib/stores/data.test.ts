import { describe, expect, it, vi } from 'vitest'
import { driftedReport, fakeAPI, inSyncReport } from '../../test/fakeApi'
import { BerthStore } from './berth.svelte'

describe('BerthStore databases', () => {
  it('loads the databases with the details and shows a database step live', async () => {
    const { api } = fakeAPI()
    let finish!: () => void
    api.dbSnapshot = vi.fn<typeof api.dbSnapshot>(
      (env: string) =>
        new Promise((resolve) => {
          finish = () => resolve({ env, service: 'db', op: 'snapshot', from: 'db', strategy: 'reflink', duration: 2e8 })
        }),
    )
    const store = new BerthStore(api)
    await store.loadDetail('shop')
    await vi.waitFor(() => expect(store.databases.shop?.[0].snapshots).toHaveLength(2))

    const run = store.dbSnapshot('shop', 'db', 'before')
    expect(store.busy.shop).toBe('db snapshot before')
    expect(api.dbSnapshot).toHaveBeenCalledWith('shop', 'db', 'before')
    store.handleEvent({ time: '', env: 'shop', kind: 'db', detail: 'copy', db: { service: 'db', step: 'copy', done: 5, total: 10 } })
    expect(store.dbProgress.shop).toMatchObject({ what: 'db snapshot before', step: 'copy', done: 5, total: 10 })
    finish()
    await run
    expect(store.busy.shop).toBeUndefined()
    expect(store.dbProgress.shop).toBeUndefined()
    expect(store.log.some((l) => l.text === 'db snapshot before done (reflink) in 0.2s')).toBe(true)
    expect(api.databases).toHaveBeenCalledTimes(2) // reloaded after
  })

  it('keeps a failed action’s error for the view, and why there are no databases', async () => {
    const { api } = fakeAPI({
      dbRestore: () => Promise.reject('snapshot "x" not found'),
      databases: () => Promise.reject('environment "shop" declares no databases in berth.yaml: no database clones'),
    })
    const store = new BerthStore(api)
    await store.dbRestore('shop', 'x')
    expect(store.dbError.shop).toBe('db restore x failed: snapshot "x" not found')
    expect(store.databasesError.shop).toMatch(/declares no databases/)
    expect(store.busy.shop).toBeUndefined()
  })
})

describe('BerthStore drift', () => {
  it('takes the watcher’s reports on start and drift changes as they come, and badges drifted environments', async () => {
    const { api, change } = fakeAPI({ driftReports: vi.fn(async () => [driftedReport('shop-pr42')]) })
    const store = new BerthStore(api)
    store.start()
    await vi.waitFor(() => expect(store.drifted('shop-pr42')).toBe(true))
    expect(store.driftSummaries()['shop-pr42']).toBe('1 runtime difference, 1 edited file, 2 commits behind')

    change({ time: '', kind: 'drift', env: 'shop', drift: driftedReport('shop') })
    expect(store.drifted('shop')).toBe(true)
    change({ time: '', kind: 'drift', env: 'shop', drift: inSyncReport('shop') })
    expect(store.drifted('shop')).toBe(false)
    change({ time: '', kind: 'drift', env: 'shop', drift: { ...driftedReport('shop'), unknown: true, inSync: false } })
    expect(store.driftSummaries().shop).toBeUndefined() // unknown is not drift
    change({ time: '', kind: 'removed', env: 'shop-pr42' })
    expect(store.drift['shop-pr42']).toBeUndefined()
  })

  it('checks drift when an environment is opened', async () => {
    const { api } = fakeAPI({ check: vi.fn(async (env: string) => driftedReport(env)) })
    const store = new BerthStore(api)
    store.select('shop')
    await vi.waitFor(() => expect(store.drifted('shop')).toBe(true))
    expect(api.check).toHaveBeenCalledWith('shop')
  })

  it('heals after showing the plan, with the files it puts back, and keeps the report after', async () => {
    const { api } = fakeAPI()
    const store = new BerthStore(api)
    store.drift.shop = driftedReport('shop')
    await store.heal('shop')
    expect(api.sync).not.toHaveBeenCalled()
    expect(store.pending?.title).toBe('Heal shop: put back 1 workspace file (conf/app.conf) and apply the plan')
    expect(store.pending?.destructive).toBe(true)
    await store.confirm()
    expect(api.sync).toHaveBeenCalledWith('shop')
    expect(store.drifted('shop')).toBe(false)
  })

  it('adopts on the branch given and keeps the commit; shows a failed discard; pauses healing', async () => {
    const { api } = fakeAPI({ discard: () => Promise.reject('not deployed from a revision') })
    const store = new BerthStore(api)
    await store.adopt('shop', ' keep-memory ')
    expect(api.adopt).toHaveBeenCalledWith('shop', 'keep-memory')
    expect(store.adopted.shop.branch).toBe('keep-memory')
    await store.discard('shop')
    expect(store.driftActionError.shop).toBe('discard failed: not deployed from a revision')
    await store.pauseHealing('shop', 30)
    expect(api.pauseHealing).toHaveBeenCalledWith('shop', 30)
    expect(store.paused.shop.until).toBeTruthy()
  })
})
