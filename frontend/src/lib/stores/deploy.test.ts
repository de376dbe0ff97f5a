import { describe, expect, it, vi } from 'vitest'
import { fakeAPI, sampleRevisions } from '../../test/fakeApi'
import { BerthStore, oneLine, updateAvailable } from './berth.svelte'

describe('BerthStore revisions and history', () => {
  it('loads revisions and history with the details', async () => {
    const { api } = fakeAPI()
    const store = new BerthStore(api)
    store.start()
    await vi.waitFor(() => expect(store.revisions.shop).toHaveLength(3))
    await vi.waitFor(() => expect(store.history.shop).toHaveLength(3))
    expect(api.revisions).toHaveBeenCalledWith('shop')
    expect(api.history).toHaveBeenCalledWith('shop', {})
  })

  it('sees the branch move on refresh', async () => {
    const { api } = fakeAPI()
    const head = sampleRevisions().map((r, i) => ({ ...r, deployed: i === 0 }))
    api.revisions = vi.fn(async () => head.slice(0))
    const store = new BerthStore(api)
    store.start()
    await vi.waitFor(() => expect(store.revisions.shop).toHaveLength(3))
    expect(updateAvailable(store.revisions.shop)).toBe(false)
    head.unshift({ hash: 'd4d4d4d4', short: 'd4d4d4d', author: 'Ada', when: '2026-11-25T11:00:00Z', message: 'web: V=4', deployed: false })
    await store.refresh()
    await vi.waitFor(() => expect(store.revisions.shop).toHaveLength(4))
    expect(updateAvailable(store.revisions.shop)).toBe(true)
  })

  it('reloads revisions when a background fetch moved the branch, and logs fetch failures', async () => {
    const { api, change } = fakeAPI()
    const head = sampleRevisions().map((r, i) => ({ ...r, deployed: i === 0 }))
    api.revisions = vi.fn(async () => head.slice(0))
    const store = new BerthStore(api)
    store.start()
    await vi.waitFor(() => expect(store.revisions.shop).toHaveLength(3))
    expect(updateAvailable(store.revisions.shop)).toBe(false)
    head.unshift({ hash: 'd4d4d4d4', short: 'd4d4d4d', author: 'Ada', when: '2026-11-25T11:00:00Z', message: 'web: V=4', deployed: false })
    change({ time: '', kind: 'repo', repo: { moved: true } })
    await vi.waitFor(() => expect(store.revisions.shop).toHaveLength(4))
    expect(updateAvailable(store.revisions.shop)).toBe(true)
    change({ time: '', kind: 'repo', repo: { error: 'fetching https://example.invalid/defs.git: unreachable' } })
    expect(store.log.at(-1)).toMatchObject({ level: 'warning', text: expect.stringContaining('unreachable') })
    change({ time: '', kind: 'repo', repo: {} })
    expect(store.log.at(-1)).toMatchObject({ level: 'info', text: expect.stringContaining('works again') })
  })

  it('keeps why revisions cannot be listed', async () => {
    const { api } = fakeAPI({ revisions: () => Promise.reject('no definitions repo') })
    const store = new BerthStore(api)
    await store.loadRevisions('shop')
    expect(store.revisionsError.shop).toBe('no definitions repo')
    expect(store.revisions.shop).toBeUndefined()
  })

  it('shows the deploy plan first and deploys only when confirmed, then reloads', async () => {
    const { api, emit } = fakeAPI()
    let finish!: () => void
    const deploy = api.deploy
    api.deploy = vi.fn<typeof api.deploy>((env, rev) => new Promise((ok) => (finish = () => ok(deploy(env, rev)))))
    const store = new BerthStore(api)
    store.start()
    await store.refresh()
    const c3 = sampleRevisions()[0]
    await store.deploy('shop', c3)
    expect(api.planDeploy).toHaveBeenCalledWith('shop', c3.hash)
    expect(api.deploy).not.toHaveBeenCalled()
    expect(store.pending?.title).toBe('Deploy c3c3c3c to shop: web: V=3')
    expect(store.pending?.destructive).toBe(true)
    const running = store.confirm()
    await vi.waitFor(() => expect(store.busy.shop).toBe('deploy c3c3c3c'))
    expect(api.deploy).toHaveBeenCalledWith('shop', c3.hash)
    const op = { id: 1, kind: 'recreate-container', resource: 'shop-web-1', cause: 'config changed' }
    emit({ time: '', env: 'shop', kind: 'plan', plan: { project: 'shop', ops: [op] } })
    emit({ time: '', env: 'shop', kind: 'op', op, status: 'started' })
    expect(store.progress.shop.status[1].status).toBe('started')
    vi.mocked(api.revisions).mockClear()
    vi.mocked(api.history).mockClear()
    finish()
    await running
    expect(store.busy.shop).toBeUndefined()
    expect(api.revisions).toHaveBeenCalledWith('shop')
    expect(api.history).toHaveBeenCalled()
  })

  it('cancelling a deploy plan deploys nothing', async () => {
    const { api } = fakeAPI()
    const store = new BerthStore(api)
    await store.deploy('shop', sampleRevisions()[2])
    store.cancel()
    expect(store.pending).toBeNull()
    expect(api.deploy).not.toHaveBeenCalled()
  })

  it('rolls back to the planned revision once confirmed', async () => {
    const { api } = fakeAPI()
    const store = new BerthStore(api)
    await store.rollback('shop')
    expect(api.planRollback).toHaveBeenCalledWith('shop')
    expect(store.pending?.title).toBe('Roll back shop to a1a1a1a: web: V=1')
    await store.confirm()
    expect(api.rollback).toHaveBeenCalledWith('shop', 'a1a1a1a1a1a1a1a1')
  })

  it('a failing plan is reported and nothing runs', async () => {
    const { api } = fakeAPI({ planRollback: () => Promise.reject(new Error('no successful deployment before the current one')) })
    const store = new BerthStore(api)
    await store.rollback('shop')
    expect(store.pending).toBeNull()
    expect(store.planError).toContain('no successful deployment')
    expect(api.rollback).not.toHaveBeenCalled()
  })

  it('keeps the history filter for later reloads', async () => {
    const { api } = fakeAPI()
    const store = new BerthStore(api)
    await store.loadHistory('shop', { kinds: ['deploy'], status: 'failed' })
    await store.loadHistory('shop')
    expect(api.history).toHaveBeenLastCalledWith('shop', { kinds: ['deploy'], status: 'failed' })
  })

  it('says an update is available when a newer revision than the deployed one exists', () => {
    const revs = sampleRevisions()
    expect(updateAvailable(revs)).toBe(true)
    expect(updateAvailable(revs.map((r, i) => ({ ...r, deployed: i === 0 })))).toBe(false)
    expect(updateAvailable(revs.map((r) => ({ ...r, deployed: false })))).toBe(false)
    expect(updateAvailable(undefined)).toBe(false)
    expect(oneLine('a\nb')).toBe('a')
  })
})
