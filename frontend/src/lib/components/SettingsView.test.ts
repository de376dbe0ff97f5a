import { describe, expect, it, vi } from 'vitest'
import { fireEvent, render, screen } from '@testing-library/svelte'
import SettingsView from './SettingsView.svelte'
import { fakeAPI } from '../../test/fakeApi'

describe('SettingsView', () => {
  it('saves the edited fields and keeps the settings it does not show', async () => {
    const saved = { definitionsDir: '/defs', fetchInterval: '1m', notes: true, workspaceKeepDays: 3 }
    const { api } = fakeAPI({
      getSettings: vi.fn(async () => ({ saved, effective: saved, path: '/cfg/berth/settings.json' })),
    })
    const onsaved = vi.fn()
    render(SettingsView, { props: { api, onsaved, onclose: () => {} } })
    const host = await screen.findByPlaceholderText('from the Docker context')
    await vi.waitFor(() => expect((screen.getByDisplayValue('/defs') as HTMLInputElement).value).toBe('/defs'))
    await fireEvent.input(host, { target: { value: 'ssh://me@box' } })
    await fireEvent.submit(host.closest('form')!)
    await vi.waitFor(() => expect(onsaved).toHaveBeenCalled())
    expect(api.saveSettings).toHaveBeenCalledWith({
      definitionsDir: '/defs',
      dockerHost: 'ssh://me@box',
      dockerContext: '',
      fetchInterval: '1m',
      notes: true,
      workspaceKeepDays: 3,
    })
  })
})
