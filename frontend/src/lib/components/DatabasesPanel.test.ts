import { describe, expect, it, vi } from 'vitest'
import { fireEvent, render, screen } from '@testing-library/svelte'
import DatabasesPanel from './DatabasesPanel.svelte'
import { sampleDatabases } from '../../test/fakeApi'
import { bytes } from '../format'

const now = Date.parse('2026-11-25T12:00:00Z')
const handlers = () => ({ onclone: vi.fn(), onsnapshot: vi.fn(), onrestore: vi.fn(), onreset: vi.fn(), onremove: vi.fn() })

describe('DatabasesPanel', () => {
  it('shows each database with source, golden copy, strategy and snapshots', () => {
    render(DatabasesPanel, { props: { env: 'shop', databases: sampleDatabases('shop'), now, ...handlers() } })
    const db = screen.getByTestId('db-shop-db')
    expect(screen.getByTestId('db-source-shop-db')).toHaveTextContent('seed db/seed.sql')
    expect(screen.getByTestId('db-strategy-shop-db')).toHaveTextContent('reflink')
    expect(db).toHaveTextContent('berth-golden-1a2b')
    expect(db).toHaveTextContent('8.0 MiB')
    expect(db).toHaveTextContent('loaded 3 hours ago')
    const snap = screen.getByTestId('snapshot-shop-before-v2')
    expect(snap).toHaveTextContent('40 MiB')
    expect(snap).toHaveTextContent('1 hour ago')
    expect(snap).toHaveTextContent('by hand')
    expect(screen.getByTestId('snapshot-shop-deploy-7')).toHaveTextContent('before deployment #7')
  })

  it('clones and snapshots at once (the name optional), and asks before restore, reset and remove', async () => {
    const h = handlers()
    render(DatabasesPanel, { props: { env: 'shop', databases: sampleDatabases('shop'), now, ...h } })
    await fireEvent.click(screen.getByTestId('db-clone-shop-db'))
    expect(h.onclone).toHaveBeenCalledWith('db')
    await fireEvent.click(screen.getByTestId('db-snapshot-shop-db'))
    expect(h.onsnapshot).toHaveBeenLastCalledWith('db', '')
    await fireEvent.input(screen.getByTestId('db-snapshot-name-shop-db'), { target: { value: ' v2 ' } })
    await fireEvent.click(screen.getByTestId('db-snapshot-shop-db'))
    expect(h.onsnapshot).toHaveBeenLastCalledWith('db', 'v2')

    await fireEvent.click(screen.getByTestId('restore-shop-before-v2'))
    expect(h.onrestore).not.toHaveBeenCalled()
    expect(screen.getByTestId('db-confirm')).toHaveTextContent('Restore snapshot before-v2 into db of shop?')
    await fireEvent.click(screen.getByTestId('db-confirm-no'))
    expect(screen.queryByTestId('db-confirm')).toBeNull()
    expect(h.onrestore).not.toHaveBeenCalled()
    await fireEvent.click(screen.getByTestId('restore-shop-before-v2'))
    await fireEvent.click(screen.getByTestId('db-confirm-yes'))
    expect(h.onrestore).toHaveBeenCalledWith('before-v2')

    await fireEvent.click(screen.getByTestId('db-reset-shop-db'))
    expect(h.onreset).not.toHaveBeenCalled()
    await fireEvent.click(screen.getByTestId('db-confirm-yes'))
    expect(h.onreset).toHaveBeenCalledWith('db')

    await fireEvent.click(screen.getByTestId('remove-shop-deploy-7'))
    await fireEvent.click(screen.getByTestId('db-confirm-yes'))
    expect(h.onremove).toHaveBeenCalledWith('deploy-7')
  })

  it('shows progress and the error where they happen, and disables actions while busy', () => {
    render(DatabasesPanel, {
      props: {
        env: 'shop',
        databases: sampleDatabases('shop'),
        busy: 'db restore before-v2',
        progress: { what: 'db restore before-v2', service: 'db', step: 'copy', done: 512, total: 1024 },
        actionError: 'db clone failed: disk full',
        now,
        ...handlers(),
      },
    })
    expect(screen.getByTestId('db-progress-shop')).toHaveTextContent('copy…')
    expect(screen.getByTestId('db-progress-shop')).toHaveTextContent('512 B of 1.0 KiB')
    expect(screen.getByTestId('db-error-shop')).toHaveTextContent('disk full')
    expect(screen.getByTestId('restore-shop-before-v2')).toBeDisabled()
    expect(screen.getByTestId('db-snapshot-shop-db')).toBeDisabled()
  })

  it('says why there are no databases', () => {
    render(DatabasesPanel, { props: { env: 'shop', error: 'declares no databases', now, ...handlers() } })
    expect(screen.getByTestId('databases-shop')).toHaveTextContent('declares no databases')
  })

  it('formats sizes', () => {
    expect(bytes(0)).toBe('0 B')
    expect(bytes(1536)).toBe('1.5 KiB')
    expect(bytes(5 * 1024 ** 3)).toBe('5.0 GiB')
    expect(bytes(undefined)).toBe('—')
  })
})
