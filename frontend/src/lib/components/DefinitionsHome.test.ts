import { describe, expect, it, vi } from 'vitest'
import { fireEvent, render, screen } from '@testing-library/svelte'
import DefinitionsHome from './DefinitionsHome.svelte'
import { fakeAPI } from '../../test/fakeApi'
import type { Check, Preflight } from '../../api'

const pf = (definition: string, checks: Check[]): Preflight => ({ definition, env: definition, checks, ok: !checks.some((c) => c.status === 'fail'), tookNs: 1 })

describe('DefinitionsHome', () => {
  it('shows each definition with its preflight verdict, and Up only when nothing but trust or secrets stops it', async () => {
    const { api } = fakeAPI({
      preflight: vi.fn(async (d: string) => {
      if (d === 'shop') return pf(d, [{ name: 'engine', status: 'ok', detail: 'Docker' }, { name: 'trust', status: 'fail', detail: 'not trusted', fix: 'berth trust shop' }])
      if (d === 'blog') return pf(d, [{ name: 'images', status: 'fail', detail: 'wp:6 cannot be pulled', fix: 'docker load' }])
      return pf(d, [{ name: 'secrets', status: 'fail', detail: 'not set: TOKEN' }])
      }),
    })
    const onup = vi.fn()
    render(DefinitionsHome, {
      props: {
        api,
        definitions: [
          { name: 'shop', description: 'the shop', dir: '/d/shop' },
          { name: 'blog', dir: '/d/blog' },
          { name: 'api', dir: '/d/api' },
        ],
        onup,
        onopen: vi.fn(),
      },
    })
    expect(await screen.findByTestId('home-verdict-shop')).toHaveTextContent('ready once trusted')
    expect(screen.getByTestId('home-def-shop')).toHaveTextContent('the shop')
    expect(screen.getByTestId('home-checks-shop')).toHaveTextContent('berth trust shop')
    expect(await screen.findByTestId('home-verdict-blog')).toHaveTextContent('1 to fix before it can run')
    expect(screen.getByTestId('home-up-blog')).toBeDisabled()
    expect(await screen.findByTestId('home-verdict-api')).toHaveTextContent('ready once its secrets are given')
    await fireEvent.click(screen.getByTestId('home-up-shop'))
    expect(onup).toHaveBeenLastCalledWith('shop', false)
    await fireEvent.click(screen.getByTestId('home-up-api'))
    expect(onup).toHaveBeenLastCalledWith('api', true)
  })
})
