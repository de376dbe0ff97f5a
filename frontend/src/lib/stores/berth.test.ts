import { describe, expect, it, vi } from 'vitest'
import { fakeAPI, op } from '../../test/fakeApi'
import { sampleListing } from '../../test/fixtures'
import { BerthStore, isDestructive, markFirstFrame, startupMarks } from './berth.svelte'

describe('BerthStore', () => {
  it('loads the listing and selects the first environment', async () => {
    const { api } = fakeAPI()
    const store = new BerthStore(api)
    store.start()
    await vi.waitFor(() => expect(store.listing?.environments).toHaveLength(2))
    expect(store.selected).toBe('shop')
    expect(store.engine).toEqual({ up: true })
  })

  it('asks for the first listing when made with prefetch, before it starts, and only once', async () => {
    const { api } = fakeAPI()
    const store = new BerthStore(api, { prefetch: true })
    expect(api.listEnvironments).toHaveBeenCalledTimes(1) // before start: the page has not rendered yet
    store.start()
    await vi.waitFor(() => expect(store.listing?.environments).toHaveLength(2))
    expect(api.listEnvironments).toHaveBeenCalledTimes(1)
    await store.refresh() // later refreshes ask again
    expect(api.listEnvironments).toHaveBeenCalledTimes(2)
  })

  it('keeps the error of a prefetched listing that failed, and asks again on refresh', async () => {
    let calls = 0
    const { api } = fakeAPI({
      listEnvironments: () => (++calls === 1 ? Promise.reject('engine down') : Promise.resolve(sampleListing())),
    })
    const store = new BerthStore(api, { prefetch: true })
    await new Promise((r) => setTimeout(r, 10)) // rejected before anyone waits: no unhandled rejection
    await store.refresh()
    expect(store.error).toBe('engine down')
    await store.refresh()
    expect(store.error).toBeNull()
    expect(store.listing?.environments).toHaveLength(2)
  })

  it('tells the app once, after the first listing is drawn, that it is on screen', async () => {
    const shown = vi.fn()
    const { api } = fakeAPI({ shown })
    const store = new BerthStore(api)
    await store.refresh()
    expect(shown).not.toHaveBeenCalled() // not before the frames that draw it
    await vi.waitFor(() => expect(shown).toHaveBeenCalledTimes(1))
    const marks = shown.mock.calls[0][0] as Record<string, number>
    expect(marks.listingAsked).toBeLessThanOrEqual(marks.listingAnswered)
    expect(marks.listingAnswered).toBeLessThanOrEqual(marks.shown)
    await store.refresh()
    await new Promise((r) => setTimeout(r, 100))
    expect(shown).toHaveBeenCalledTimes(1)
  })

  it('reports the first frame among the start-up marks, once', async () => {
    expect(startupMarks(1, 2, 3).firstFrame).toBeUndefined()
    markFirstFrame()
    const first = startupMarks(1, 2, 3).firstFrame
    expect(first).toBeTypeOf('number')
    await new Promise((r) => setTimeout(r, 20))
    markFirstFrame() // a later frame does not move it
    expect(startupMarks(1, 2, 3).firstFrame).toBe(first)
  })

  it('does not report a listing that failed to load as shown', async () => {
    const shown = vi.fn()
    const { api } = fakeAPI({ shown, listEnvironments: () => Promise.reject('engine down') })
    const store = new BerthStore(api)
    await store.refresh()
    await new Promise((r) => setTimeout(r, 100))
    expect(shown).not.toHaveBeenCalled()
  })

  it('keeps the error when the listing cannot be loaded', async () => {
    const { api } = fakeAPI({ listEnvironments: () => Promise.reject('definitions folder missing') })
    const store = new BerthStore(api)
    await store.refresh()
    expect(store.error).toBe('definitions folder missing')
  })

  it('runs a non-destructive up at once, with live progress per op', async () => {
    const { api, emit } = fakeAPI()
    let finish!: () => void
    api.up = vi.fn<typeof api.up>(
      (env: string) =>
        new Promise((resolve) => {
          finish = () => resolve({ env, plan: { project: env, ops: [] }, duration: 0 })
        }),
    )
    const store = new BerthStore(api)
    store.start()
    await store.refresh()
    const running = store.up('shop')
    await vi.waitFor(() => expect(store.busy.shop).toBe('up'))
    const op = { id: 1, kind: 'create-container', resource: 'shop-web-1', cause: 'container missing' }
    emit({ time: '', env: 'shop', kind: 'plan', plan: { project: 'shop', ops: [op] } })
    emit({ time: '', env: 'shop', kind: 'op', op, status: 'failed', error: 'port is already allocated' })
    expect(store.progress.shop.ops).toHaveLength(1)
    expect(store.progress.shop.status[1]).toMatchObject({ status: 'failed', error: 'port is already allocated' })
    expect(store.pending).toBeNull()
    finish()
    await running
    expect(store.busy.shop).toBeUndefined()
    expect(store.log.some((l) => l.level === 'error' && l.text.includes('port is already allocated'))).toBe(true)
  })

  it('asks before down and recreate, and runs only when confirmed', async () => {
    const { api } = fakeAPI()
    const store = new BerthStore(api)
    await store.refresh()
    await store.down('shop')
    expect(store.pending?.destructive).toBe(true)
    expect(api.down).not.toHaveBeenCalled()
    store.cancel()
    expect(store.pending).toBeNull()
    await store.recreate('shop', 'web')
    expect(store.pending?.title).toBe('Recreate web of shop')
    await store.confirm()
    expect(api.recreate).toHaveBeenCalledWith('shop', 'web')
  })

  it('makes a new environment from a definition after showing its plan', async () => {
    const { api } = fakeAPI()
    const store = new BerthStore(api)
    await store.refresh()
    await store.newEnvironment('shop', 'shop-pr7')
    expect(api.plan).toHaveBeenCalledWith('shop', 'shop-pr7', '')
    expect(store.pending?.destructive).toBe(false)
    await store.confirm()
    expect(api.up).toHaveBeenCalledWith('shop-pr7', 'shop', '')
  })

  it('shows where a plan cannot be made', async () => {
    const { api } = fakeAPI({ planDown: () => Promise.reject(new Error('environment "x": not found')) })
    const store = new BerthStore(api)
    await store.down('x')
    expect(store.pending).toBeNull()
    expect(store.planError).toContain('not found')
  })

  it('applies live changes without reloading, and follows the engine', async () => {
    const { api, change } = fakeAPI()
    const store = new BerthStore(api)
    store.start()
    await vi.waitFor(() => expect(store.listing).not.toBeNull())
    const calls = vi.mocked(api.listEnvironments).mock.calls.length
    const shop = { ...sampleListing().environments[0], state: 'partial', running: 1 }
    change({ time: '', kind: 'environment', env: 'shop', environment: shop })
    expect(store.listing!.environments.find((e) => e.name === 'shop')!.state).toBe('partial')
    change({ time: '', kind: 'removed', env: 'shop-pr42' })
    expect(store.listing!.environments.map((e) => e.name)).toEqual(['shop'])
    expect(vi.mocked(api.listEnvironments).mock.calls.length).toBe(calls)

    change({ time: '', kind: 'engine', engine: { up: false, target: { context: '', host: '' }, error: 'dial unix: no such file' } })
    expect(store.engine).toEqual({ up: false, error: 'dial unix: no such file' })
    change({ time: '', kind: 'engine', engine: { up: true, target: { context: '', host: '' } } })
    expect(store.engine?.up).toBe(true)
    await vi.waitFor(() => expect(vi.mocked(api.listEnvironments).mock.calls.length).toBe(calls + 1))
  })

  it('tells destructive plans apart', () => {
    const plan = (kinds: string[]) => ({ env: 'x', duration: 0, plan: { project: 'x', ops: kinds.map((kind, i) => op(kind, i, 'r', '')) } })
    expect(isDestructive(plan(['create-container', 'pull-image']))).toBe(false)
    expect(isDestructive(plan(['create-container', 'remove-volume']))).toBe(true)
  })
})
