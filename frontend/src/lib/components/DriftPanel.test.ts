import { describe, expect, it, vi } from 'vitest'
import { fireEvent, render, screen } from '@testing-library/svelte'
import DriftPanel from './DriftPanel.svelte'
import EnvironmentList from './EnvironmentList.svelte'
import { driftedReport, inSyncReport } from '../../test/fakeApi'
import { sampleListing } from '../../test/fixtures'
import { ignoreRule } from '../drift'

const now = Date.parse('2026-11-25T12:00:00Z')
const handlers = () => ({ oncheck: vi.fn(), onheal: vi.fn(), onadopt: vi.fn(), ondiscard: vi.fn(), onpause: vi.fn() })

describe('DriftPanel', () => {
  it('shows the field diff, edited files, upstream and the state', () => {
    render(DriftPanel, { props: { env: 'shop', report: driftedReport('shop'), now, ...handlers() } })
    expect(screen.getByTestId('drift-state-shop')).toHaveAttribute('data-drift', 'drifted')
    const item = screen.getByTestId('drift-item')
    expect(item).toHaveAttribute('data-path', '/hostConfig/memory')
    expect(item).toHaveTextContent('web')
    expect(item).toHaveTextContent('0')
    expect(item).toHaveTextContent('67108864')
    expect(screen.getByTestId('drift-files-shop')).toHaveTextContent('conf/app.conf modified')
    expect(screen.getByTestId('drift-upstream-shop')).toHaveTextContent('Branch main is 2 commits ahead of the deployed revision.')
  })

  it('heals, adopts with the branch typed, asks before discarding, pauses healing', async () => {
    const h = handlers()
    render(DriftPanel, { props: { env: 'shop', report: driftedReport('shop'), now, ...h } })
    await fireEvent.click(screen.getByTestId('heal-shop'))
    expect(h.onheal).toHaveBeenCalled()
    await fireEvent.input(screen.getByTestId('adopt-branch-shop'), { target: { value: 'keep-memory' } })
    await fireEvent.click(screen.getByTestId('adopt-shop'))
    expect(h.onadopt).toHaveBeenCalledWith('keep-memory')
    await fireEvent.click(screen.getByTestId('discard-shop'))
    expect(h.ondiscard).not.toHaveBeenCalled()
    expect(screen.getByTestId('discard-confirm')).toHaveTextContent('Put 1 file back to the deployed commit?')
    await fireEvent.click(screen.getByTestId('discard-yes'))
    expect(h.ondiscard).toHaveBeenCalled()
    await fireEvent.input(screen.getByTestId('pause-minutes-shop'), { target: { value: '30' } })
    await fireEvent.click(screen.getByTestId('pause-shop'))
    expect(h.onpause).toHaveBeenCalledWith(30)
  })

  it('shows the ignore rule to add to berth.yaml instead of editing it', async () => {
    render(DriftPanel, { props: { env: 'shop', report: driftedReport('shop'), now, ...handlers() } })
    await fireEvent.click(screen.getByTestId('drift-ignore'))
    const box = screen.getByTestId('drift-ignore-rule-shop')
    expect(box).toHaveTextContent('berth.yaml')
    expect(box.querySelector('pre')?.textContent).toBe('drift:\n  ignore:\n    - service: web\n      path: /hostConfig/memory\n')
    expect(ignoreRule({ path: '/labels/a: b', desired: null, live: 'x', kind: 'added' })).toBe('drift:\n  ignore:\n    - path: "/labels/a: b"\n')
  })

  it('shows the commit adopt made, a paused switch, and an action’s error; Heal is off when in sync', () => {
    render(DriftPanel, {
      props: {
        env: 'shop',
        report: inSyncReport('shop'),
        adopted: { env: 'shop', branch: 'keep', commit: { hash: 'c3', short: 'c3c3c3c', author: '', when: '', message: '' }, files: ['compose.yaml'], adopted: [], left: [] },
        paused: { env: 'shop', until: '2026-11-25T12:30:00Z' },
        actionError: 'adopt failed: no drift',
        now,
        ...handlers(),
      },
    })
    expect(screen.getByTestId('drift-state-shop')).toHaveAttribute('data-drift', 'in-sync')
    expect(screen.getByTestId('heal-shop')).toBeDisabled()
    expect(screen.getByTestId('adopted-shop')).toHaveTextContent('Committed c3c3c3c on branch keep (not pushed).')
    expect(screen.getByTestId('paused-shop')).toHaveTextContent('healing paused until')
    expect(screen.getByTestId('resume-shop')).toBeInTheDocument()
    expect(screen.getByTestId('drift-error-shop')).toHaveTextContent('no drift')
  })
})

describe('EnvironmentList drift badge', () => {
  it('badges the drifted environments only', () => {
    render(EnvironmentList, { props: { environments: sampleListing().environments, drifted: { 'shop-pr42': '1 runtime difference' }, onselect: vi.fn() } })
    expect(screen.getByTestId('drift-badge-shop-pr42')).toHaveAttribute('title', '1 runtime difference')
    expect(screen.queryByTestId('drift-badge-shop')).toBeNull()
  })
})
