import { describe, expect, it, vi } from 'vitest'
import { fireEvent, render, screen } from '@testing-library/svelte'
import SettingsView from './SettingsView.svelte'
import { fakeAPI } from '../../test/fakeApi'
import type { SettingsView as View } from '../../api'

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

  it('shows the fields the server keeps read-only as such, with no save when none is left', async () => {
    const saved = { definitionsDir: '/defs', dockerHost: 'unix:///var/run/docker.sock' }
    const view: View = {
      saved,
      effective: saved,
      path: '/cfg/berth/settings.json',
      readOnly: ['definitionsDir', 'dockerHost', 'dockerContext', 'repoTokenEnv'],
    }
    const { api } = fakeAPI({ getSettings: vi.fn(async () => view) })
    render(SettingsView, { props: { api, onsaved: () => {}, onclose: () => {} } })
    await screen.findByTestId('settings-readonly')
    for (const value of ['/defs', 'unix:///var/run/docker.sock']) {
      expect((screen.getByDisplayValue(value) as HTMLInputElement).readOnly).toBe(true)
    }
    expect((screen.getByPlaceholderText('the current one') as HTMLInputElement).readOnly).toBe(true)
    expect(screen.queryByRole('button', { name: 'Save and reconnect' })).toBeNull()
  })

  it('leaves every field editable in the desktop window', async () => {
    const { api } = fakeAPI({ getSettings: vi.fn(async () => ({ saved: {}, effective: {}, path: '/p' })) })
    render(SettingsView, { props: { api, onsaved: () => {}, onclose: () => {} } })
    const host = await screen.findByPlaceholderText('from the Docker context')
    expect((host as HTMLInputElement).readOnly).toBe(false)
    expect(screen.getByRole('button', { name: 'Save and reconnect' })).toBeTruthy()
    expect(screen.queryByTestId('settings-readonly')).toBeNull()
  })
})
