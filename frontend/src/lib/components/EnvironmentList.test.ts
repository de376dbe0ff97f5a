import { describe, expect, it, vi } from 'vitest'
import { fireEvent, render, screen } from '@testing-library/svelte'
import EnvironmentList from './EnvironmentList.svelte'
import { sampleListing } from '../../test/fixtures'

describe('EnvironmentList', () => {
  it('shows each environment with its state, definition and revision, and selects one', async () => {
    const onselect = vi.fn()
    render(EnvironmentList, { props: { environments: sampleListing().environments, selected: 'shop', onselect } })
    expect(screen.getByTestId('env-state-shop')).toHaveAttribute('data-state', 'running')
    expect(screen.getByTestId('env-state-shop-pr42')).toHaveAttribute('data-state', 'partial')
    expect(screen.getByTestId('env-shop')).toHaveTextContent('from shop')
    expect(screen.getByTestId('env-shop')).toHaveTextContent('01234567')
    expect(screen.getByTestId('env-shop-pr42')).toHaveTextContent('1/3 running')
    await fireEvent.click(screen.getByTestId('env-shop-pr42'))
    expect(onselect).toHaveBeenCalledWith('shop-pr42')
  })
})
