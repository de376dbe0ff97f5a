import { describe, expect, it, vi } from 'vitest'
import { fireEvent, render, screen } from '@testing-library/svelte'
import { fakeAPI } from '../../test/fakeApi'
import { sampleListing } from '../../test/fixtures'
import { BerthStore, devText } from './berth.svelte'
import EnvironmentDetail from '../components/EnvironmentDetail.svelte'

describe('live development (Watch)', () => {
  it('toggles the watch through the API and follows its actions from the change stream', async () => {
    const { api, change } = fakeAPI()
    const store = new BerthStore(api)
    store.start()
    await vi.waitFor(() => expect(store.listing).not.toBeNull())
    await store.toggleWatch('shop')
    expect(api.setWatch).toHaveBeenCalledWith('shop', true)
    expect(store.watching.shop).toBe(true)

    change({ time: '', kind: 'develop', env: 'shop', develop: { time: '2025-01-01T00:00:00Z', env: 'shop', action: 'synced', service: 'api', path: 'src/app.js', target: '/app/src/app.js' } })
    change({ time: '', kind: 'develop', env: 'shop', develop: { time: '2025-01-01T00:00:01Z', env: 'shop', action: 'restarted', service: 'api' } })
    expect(store.devEvents.shop.map(devText)).toEqual(['synced api: src/app.js → /app/src/app.js', 'restarted api'])
    expect(store.log.map((l) => l.text)).toContain('synced api: src/app.js → /app/src/app.js')

    // the watch ending elsewhere (Ctrl-C, the engine) turns the toggle off
    change({ time: '', kind: 'develop', env: 'shop', develop: { time: '', env: 'shop', action: 'stopped' } })
    expect(store.watching.shop).toBe(false)
    await store.toggleWatch('shop')
    expect(api.setWatch).toHaveBeenLastCalledWith('shop', true)
  })

  it('says why the watch could not start', async () => {
    const { api } = fakeAPI()
    vi.mocked(api.setWatch).mockRejectedValueOnce(new Error('definition "shop" has no develop.watch: nothing to watch'))
    const store = new BerthStore(api)
    await store.toggleWatch('shop')
    expect(store.watching.shop).toBeFalsy()
    expect(store.watchError.shop).toContain('no develop.watch')
  })

  it('shows the toggle pressed and the last actions, newest first', async () => {
    const onwatch = vi.fn()
    const env = sampleListing().environments[0]
    const devEvents = [
      { time: '2025-01-01T00:00:00Z', env: env.name, action: 'watching' },
      { time: '2025-01-01T00:00:01Z', env: env.name, action: 'synced', service: 'api', path: 'src/a.js', target: '/app/src/a.js' },
      { time: '2025-01-01T00:00:02Z', env: env.name, action: 'rebuilt', service: 'web' },
    ]
    const noop = vi.fn()
    render(EnvironmentDetail, { props: { env, watching: true, devEvents, onwatch, onup: noop, ondown: noop, onrecreate: noop, onlogs: noop, onopen: noop, ondismiss: noop } })
    const btn = screen.getByTestId(`watch-${env.name}`)
    expect(btn).toHaveAttribute('aria-pressed', 'true')
    const items = screen.getByTestId(`dev-${env.name}`).querySelectorAll('li')
    expect(items[0]).toHaveTextContent('rebuilt web')
    expect(items[1]).toHaveTextContent('synced api: src/a.js → /app/src/a.js')
    await fireEvent.click(btn)
    expect(onwatch).toHaveBeenCalled()
  })
})
