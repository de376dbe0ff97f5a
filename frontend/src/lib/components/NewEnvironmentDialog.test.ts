import { describe, expect, it, vi } from 'vitest'
import { fireEvent, render, screen } from '@testing-library/svelte'
import NewEnvironmentDialog from './NewEnvironmentDialog.svelte'
import type { Definition } from '../../api'

const defs: Definition[] = [
  {
    name: 'shop',
    dir: '/defs/shop',
    variants: [{ name: 'review', description: 'a reviewer copy' }, { name: 'staging' }],
    secrets: [
      { scope: 'definition', owner: 'shop', name: 'DB_PASSWORD', description: 'the database password', declared: true, required: true, set: false },
      { scope: 'definition', owner: 'shop', name: 'API_TOKEN', declared: true, required: true, set: true },
      { scope: 'definition', owner: 'shop', name: 'HINT', declared: true, required: false, set: false },
    ],
  },
  { name: 'plain', dir: '/defs/plain' },
]

describe('NewEnvironmentDialog', () => {
  it('asks for the unset secrets, offers the variants, and creates with them', async () => {
    const oncreate = vi.fn()
    render(NewEnvironmentDialog, { props: { definitions: defs, oncreate, oncancel: vi.fn() } })
    const submit = screen.getByTestId('new-env-plan')
    // a required secret is not set: nothing can be created yet
    expect(submit).toBeDisabled()
    expect(screen.queryByTestId('new-env-secret-API_TOKEN')).toBeNull()
    expect(screen.getByTestId('new-env-secret-HINT')).toHaveAttribute('type', 'password')
    await fireEvent.input(screen.getByTestId('new-env-secret-DB_PASSWORD'), { target: { value: 's3cret' } })
    expect(submit).toBeEnabled()
    await fireEvent.change(screen.getByTestId('new-env-variant'), { target: { value: 'review' } })
    await fireEvent.input(screen.getByTestId('new-env-name'), { target: { value: 'shop-review' } })
    await fireEvent.click(submit)
    expect(oncreate).toHaveBeenCalledWith('shop', 'shop-review', 'review', { DB_PASSWORD: 's3cret' })
  })

  it('shows neither variants nor secrets for a definition without them', async () => {
    const oncreate = vi.fn()
    render(NewEnvironmentDialog, { props: { definitions: defs, oncreate, oncancel: vi.fn() } })
    await fireEvent.change(screen.getByTestId('new-env-definition'), { target: { value: 'plain' } })
    expect(screen.queryByTestId('new-env-variant')).toBeNull()
    expect(screen.queryByTestId('new-env-secrets')).toBeNull()
    await fireEvent.click(screen.getByTestId('new-env-plan'))
    expect(oncreate).toHaveBeenCalledWith('plain', '', '', {})
  })
})
