import { describe, expect, it, vi } from 'vitest'
import { fireEvent, render, screen } from '@testing-library/svelte'
import RevisionsPanel from './RevisionsPanel.svelte'
import HistoryPanel from './HistoryPanel.svelte'
import EnvironmentDetail from './EnvironmentDetail.svelte'
import { sampleHistory, sampleRevisions } from '../../test/fakeApi'
import { ago, seconds } from '../time'

const now = Date.parse('2026-11-25T12:00:00Z')

describe('RevisionsPanel', () => {
  it('lists revisions, marks the deployed one and deploys the others', async () => {
    const ondeploy = vi.fn()
    render(RevisionsPanel, { props: { env: 'shop', revisions: sampleRevisions(), now, ondeploy } })
    expect(screen.getByTestId('revisions-shop')).toBeInTheDocument()
    const b2 = screen.getByTestId('rev-b2b2b2b')
    expect(b2).toHaveAttribute('data-deployed', 'true')
    expect(b2).toHaveTextContent('deployed')
    expect(b2).toHaveTextContent('web: V=2')
    expect(b2).not.toHaveTextContent('body')
    expect(screen.queryByTestId('deploy-b2b2b2b')).toBeNull()
    expect(screen.getByTestId('rev-c3c3c3c')).toHaveTextContent('Ada')
    expect(screen.getByTestId('rev-c3c3c3c')).toHaveTextContent('2 hours ago')
    await fireEvent.click(screen.getByTestId('deploy-a1a1a1a'))
    expect(ondeploy).toHaveBeenCalledWith(expect.objectContaining({ hash: 'a1a1a1a1a1a1a1a1' }))
  })

  it('disables Deploy while an operation runs, and shows why there are no revisions', () => {
    const { unmount } = render(RevisionsPanel, { props: { env: 'shop', revisions: sampleRevisions(), busy: 'up', now, ondeploy: vi.fn() } })
    expect(screen.getByTestId('deploy-a1a1a1a')).toBeDisabled()
    unmount()
    render(RevisionsPanel, { props: { env: 'shop', error: 'no definitions repo', now, ondeploy: vi.fn() } })
    expect(screen.getByTestId('revisions-shop')).toHaveTextContent('no definitions repo')
  })
})

describe('HistoryPanel', () => {
  it('shows kind, revision, who, when, duration, result and error', () => {
    render(HistoryPanel, { props: { env: 'shop', records: sampleHistory('shop'), now, onfilter: vi.fn() } })
    const rows = screen.getAllByTestId('history-row')
    expect(rows.map((r) => r.dataset.kind)).toEqual(['rollback', 'deploy', 'up'])
    expect(rows[1]).toHaveTextContent('c3c3c3c')
    expect(rows[1]).toHaveTextContent('bob')
    expect(rows[1]).toHaveTextContent('1 hour ago')
    expect(rows[1]).toHaveTextContent('4.0s')
    expect(rows[1]).toHaveTextContent('failed')
    expect(rows[1]).toHaveTextContent('web is unhealthy')
    expect(rows[0]).toHaveTextContent('Ada')
  })

  it('filters by kind and result', async () => {
    const onfilter = vi.fn()
    render(HistoryPanel, { props: { env: 'shop', records: [], filter: { status: 'failed' }, now, onfilter } })
    expect(screen.getByTestId('history-shop')).toHaveTextContent('Nothing recorded that matches')
    await fireEvent.change(screen.getByTestId('history-kind'), { target: { value: 'deploy' } })
    expect(onfilter).toHaveBeenLastCalledWith({ status: 'failed', kinds: ['deploy'] })
    await fireEvent.change(screen.getByTestId('history-status'), { target: { value: '' } })
    expect(onfilter).toHaveBeenLastCalledWith({ status: '' })
  })
})

describe('EnvironmentDetail revisions header', () => {
  it('has Rollback and the update badge when given', async () => {
    const onrollback = vi.fn()
    const env = { name: 'shop', definition: 'shop', state: 'running' as const, running: 1, containers: 1, services: [] }
    const noop = vi.fn()
    render(EnvironmentDetail, { props: { env, onup: noop, ondown: noop, onrecreate: noop, onlogs: noop, onopen: noop, ondismiss: noop, onrollback, update: true } })
    expect(screen.getByTestId('update-shop')).toHaveTextContent('update available')
    await fireEvent.click(screen.getByTestId('rollback-shop'))
    expect(onrollback).toHaveBeenCalled()
  })
})

describe('time formatting', () => {
  it('says how long ago and how long', () => {
    expect(ago('2026-11-25T11:59:50Z', now)).toBe('just now')
    expect(ago('2026-11-25T11:55:00Z', now)).toBe('5 min ago')
    expect(ago('2026-11-20T12:00:00Z', now)).toBe('5 days ago')
    expect(ago('nope', now)).toBe('—')
    expect(seconds(2.5e9)).toBe('2.5s')
    expect(seconds(125e9)).toBe('2m 5s')
    expect(seconds(undefined)).toBe('—')
  })
})
