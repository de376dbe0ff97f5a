import { describe, expect, it, vi } from 'vitest'
import { fireEvent, render, screen, within } from '@testing-library/svelte'
import EnvironmentList from './EnvironmentList.svelte'
import { sampleListing } from '../../test/fixtures'

function setup(busy = {}) {
  const onup = vi.fn()
  const ondown = vi.fn()
  const { container } = render(EnvironmentList, {
    props: { environments: sampleListing().environments, busy, onup, ondown },
  })
  const row = (name: string) => container.querySelector<HTMLElement>(`tr[data-environment="${name}"]`)!
  return { onup, ondown, row }
}

describe('EnvironmentList', () => {
  it('shows each environment with its state badge and counts', () => {
    const { row } = setup()
    expect(within(row('shop')).getByText('running')).toHaveAttribute('data-state', 'running')
    expect(within(row('shop')).getByTestId('counts')).toHaveTextContent('2/2 running 2 services')
    expect(within(row('shop')).getByText('01234567')).toBeInTheDocument()
    expect(within(row('shop')).getByText('from shop')).toBeInTheDocument()
    expect(within(row('shop-pr42')).getByText('partial')).toBeInTheDocument()
    expect(within(row('shop-pr42')).getByTestId('counts')).toHaveTextContent('1/3 running')
  })

  it('calls up and down for the right environment', async () => {
    const { onup, ondown } = setup()
    await fireEvent.click(screen.getByRole('button', { name: 'Up shop-pr42' }))
    await fireEvent.click(screen.getByRole('button', { name: 'Down shop' }))
    expect(onup).toHaveBeenCalledWith('shop-pr42')
    expect(ondown).toHaveBeenCalledWith('shop', false)
  })

  it('asks for a second click before removing volumes', async () => {
    const { ondown } = setup()
    const btn = screen.getByRole('button', { name: 'Down shop and remove its volumes' })
    await fireEvent.click(btn)
    expect(ondown).not.toHaveBeenCalled()
    expect(btn).toHaveTextContent('Confirm')
    await fireEvent.click(btn)
    expect(ondown).toHaveBeenCalledWith('shop', true)
  })

  it('shows a busy environment without its buttons', () => {
    const { row } = setup({ shop: 'down' })
    expect(within(row('shop')).getByText('Stopping…')).toBeInTheDocument()
    expect(within(row('shop')).queryByRole('button')).toBeNull()
    expect(within(row('shop-pr42')).getAllByRole('button')).toHaveLength(3)
  })

  it('says so when there are no environments', () => {
    render(EnvironmentList, { props: { environments: [], onup: vi.fn(), ondown: vi.fn() } })
    expect(screen.getByText(/No environments on this target yet/)).toBeInTheDocument()
  })
})
