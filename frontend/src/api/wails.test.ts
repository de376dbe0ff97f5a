import { describe, expect, it, vi } from 'vitest'
import { ApiError, connect, EVENT_NAME, wailsTransport, type BerthEvent } from '.'
import type { WailsBoundAPI, WailsWindow } from './wails'
import { sampleListing } from '../test/fixtures'

function fakeWindow(api: Partial<WailsBoundAPI> = {}) {
  const handlers = new Map<string, Set<(...d: unknown[]) => void>>()
  const win: WailsWindow = {
    go: {
      desktop: {
        API: {
          ListEnvironments: vi.fn(async () => sampleListing()),
          Up: vi.fn(async (env: string) => ({ env, plan: { project: env, ops: [] }, duration: 0 })),
          Down: vi.fn(async (env: string) => ({ env, plan: { project: env, ops: [] }, duration: 0 })),
          ...api,
        } as WailsBoundAPI, // a fake binds only what a test calls
      },
    },
    runtime: {
      EventsOn(name, cb) {
        if (!handlers.has(name)) handlers.set(name, new Set())
        handlers.get(name)!.add(cb)
        return () => handlers.get(name)!.delete(cb)
      },
    },
  }
  const emit = (name: string, ...data: unknown[]) => handlers.get(name)?.forEach((h) => h(...data))
  return { win, emit }
}

describe('wails transport', () => {
  it('calls the bound Go methods', async () => {
    const { win } = fakeWindow()
    const api = wailsTransport(win)
    expect(api.transport).toBe('wails')
    expect((await api.listEnvironments()).definitions).toHaveLength(2)
    await api.up('shop')
    await api.down('shop', true)
    await api.down('shop')
    const bound = win.go!.desktop!.API!
    expect(bound.Up).toHaveBeenCalledWith('shop', '', '')
    expect(bound.Down).toHaveBeenNthCalledWith(1, 'shop', true)
    expect(bound.Down).toHaveBeenNthCalledWith(2, 'shop', false)
  })

  it('reports the first listing shown, and does without Shown on an older app', async () => {
    const Shown = vi.fn(async () => {})
    wailsTransport(fakeWindow({ Shown }).win).shown?.({ shown: 12 })
    expect(Shown).toHaveBeenCalledWith({ shown: 12 })
    expect(() => wailsTransport(fakeWindow().win).shown?.({})).not.toThrow()
    const failing = vi.fn(async () => Promise.reject(new Error('gone')))
    expect(() => wailsTransport(fakeWindow({ Shown: failing }).win).shown?.({})).not.toThrow()
  })

  it('calls the bound revision methods', async () => {
    const plan = { env: 'web', kind: 'deploy', revision: { hash: 'abc', short: 'abc', author: '', when: '', message: '' }, result: { env: 'web', plan: { project: 'web', ops: [] }, duration: 0 } }
    const done = { ...plan.result, kind: 'deploy', id: 1, revision: plan.revision }
    const { win } = fakeWindow({
      Revisions: vi.fn(async () => []),
      PlanDeploy: vi.fn(async () => plan),
      Deploy: vi.fn(async () => done),
      PlanRollback: vi.fn(async () => plan),
      Rollback: vi.fn(async () => done),
      History: vi.fn(async () => []),
    })
    const api = wailsTransport(win)
    await api.revisions('web')
    await api.planDeploy('web', 'abc')
    await api.deploy('web', 'abc', 'site')
    await api.planRollback('web')
    await api.rollback('web', 'def')
    await api.history('web', { kinds: ['deploy'] })
    const bound = win.go!.desktop!.API!
    expect(bound.Revisions).toHaveBeenCalledWith('web')
    expect(bound.PlanDeploy).toHaveBeenCalledWith('web', '', 'abc')
    expect(bound.Deploy).toHaveBeenCalledWith('web', 'site', 'abc')
    expect(bound.PlanRollback).toHaveBeenCalledWith('web', '')
    expect(bound.Rollback).toHaveBeenCalledWith('web', 'def')
    expect(bound.History).toHaveBeenCalledWith('web', { kinds: ['deploy'] })
  })

  it('turns a rejected call into an ApiError with the Go error text', async () => {
    const { win } = fakeWindow({
      Up: () => Promise.reject('environment "nope": not found'),
    })
    const err = await wailsTransport(win).up('nope').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as Error).message).toBe('environment "nope": not found')
  })

  it('delivers berth:event events until unsubscribed', () => {
    const { win, emit } = fakeWindow()
    const seen: BerthEvent[] = []
    const off = wailsTransport(win).onEvent((ev) => seen.push(ev))
    const ev: BerthEvent = { time: '2025-01-01T00:00:00Z', env: 'shop', kind: 'message', detail: 'hello' }
    emit(EVENT_NAME, ev)
    emit('other', ev)
    off()
    emit(EVENT_NAME, ev)
    expect(seen).toEqual([ev])
  })

  it('is chosen by connect when the bindings are there', () => {
    expect(connect(fakeWindow().win).transport).toBe('wails')
    expect(connect({}).transport).toBe('http')
  })
})
