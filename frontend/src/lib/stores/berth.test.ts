import { describe, expect, it, vi } from 'vitest'
import type { BerthAPI, BerthEvent, Result } from '../../api'
import { sampleListing } from '../../test/fixtures'
import { BerthStore } from './berth.svelte'

function fakeAPI(over: Partial<BerthAPI> = {}) {
  let handler: ((ev: BerthEvent) => void) | undefined
  const result = (env: string): Result => ({ env, plan: { project: env, ops: [{ id: 1, kind: 'create-container', resource: `${env}-web-1`, cause: 'container missing' }] }, duration: 1.5e9 })
  const api: BerthAPI = {
    transport: 'http',
    listEnvironments: vi.fn(async () => sampleListing()),
    up: vi.fn(async (env: string) => result(env)),
    down: vi.fn(async (env: string) => result(env)),
    onEvent: (h) => {
      handler = h
      return () => (handler = undefined)
    },
    ...over,
  }
  return { api, emit: (ev: BerthEvent) => handler?.(ev) }
}

describe('BerthStore', () => {
  it('loads the listing on start', async () => {
    const { api } = fakeAPI()
    const store = new BerthStore(api)
    store.start()
    await vi.waitFor(() => expect(store.listing?.environments).toHaveLength(2))
    expect(store.error).toBeNull()
  })

  it('keeps the error when the listing cannot be loaded', async () => {
    const { api } = fakeAPI({ listEnvironments: () => Promise.reject('definitions folder missing') })
    const store = new BerthStore(api)
    await store.refresh()
    expect(store.error).toBe('definitions folder missing')
  })

  it('logs progress events and refreshes when an op finishes', async () => {
    const { api, emit } = fakeAPI()
    const store = new BerthStore(api, { refreshDelay: 1 })
    store.start()
    const op = { id: 1, kind: 'create-container', resource: 'shop-web-1', cause: 'container missing' }
    emit({ time: '2025-01-01T10:00:00Z', env: 'shop', kind: 'plan', plan: { project: 'shop', ops: [op] } })
    emit({ time: '2025-01-01T10:00:00Z', env: 'shop', kind: 'op', op, status: 'started' })
    emit({ time: '2025-01-01T10:00:01Z', env: 'shop', kind: 'op', op, status: 'done' })
    emit({ time: '2025-01-01T10:00:01Z', env: 'shop', kind: 'warning', detail: 'port 8080 is taken' })
    expect(store.log.map((l) => [l.level, l.text])).toEqual([
      ['info', 'plan: 1 operation'],
      ['info', 'create-container shop-web-1 (container missing)'],
      ['info', 'create-container shop-web-1 done'],
      ['warning', 'port 8080 is taken'],
    ])
    await vi.waitFor(() => expect(api.listEnvironments).toHaveBeenCalledTimes(2))
  })

  it('marks an environment busy while up runs and logs the outcome', async () => {
    let finish!: (r: Result) => void
    const { api } = fakeAPI({ up: () => new Promise<Result>((r) => (finish = r)) })
    const store = new BerthStore(api)
    const done = store.up('shop')
    expect(store.busy.shop).toBe('up')
    finish({ env: 'shop', plan: { project: 'shop', ops: [] }, duration: 0 })
    await done
    expect(store.busy.shop).toBeUndefined()
    expect(store.log.at(-1)).toMatchObject({ level: 'success', text: 'nothing to do' })
  })

  it('logs a failed operation as an error', async () => {
    const { api } = fakeAPI({ down: () => Promise.reject(new Error('environment "x": not found')) })
    const store = new BerthStore(api)
    await store.down('x', true)
    expect(api.listEnvironments).toHaveBeenCalled()
    expect(store.log.at(-1)).toMatchObject({ env: 'x', level: 'error', text: 'down failed: environment "x": not found' })
  })
})
