import { describe, expect, it, vi } from 'vitest'
import { fireEvent, render, screen } from '@testing-library/svelte'
import EnvironmentDetail from './EnvironmentDetail.svelte'
import PlanDialog from './PlanDialog.svelte'
import type { Environment } from '../../api'
import { result } from '../../test/fakeApi'

const env: Environment = {
  name: 'shop',
  definition: 'shop',
  state: 'running',
  running: 1,
  containers: 1,
  services: [
    {
      name: 'web',
      state: 'running',
      health: 'healthy',
      image: 'nginx:1.27',
      replicas: 1,
      ports: [{ hostIP: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
      containers: [
        { id: 'c', name: 'shop-web-1', service: 'web', number: 1, managed: true, configHash: '', image: 'nginx:1.27', imageID: '', state: 'running', exitCode: 0, restarts: 2, created: '', startedAt: '2025-01-01T00:00:00Z' },
      ],
    },
  ],
}

describe('EnvironmentDetail', () => {
  it('shows services with state, health, port links, image, uptime and restarts', async () => {
    const props = { env, now: Date.parse('2025-01-01T01:30:00Z'), onup: vi.fn(), ondown: vi.fn(), onrecreate: vi.fn(), onlogs: vi.fn(), onopen: vi.fn(), ondismiss: vi.fn() }
    render(EnvironmentDetail, { props })
    const row = screen.getByTestId('svc-shop-web')
    expect(screen.getByTestId('svc-state-shop-web')).toHaveAttribute('data-state', 'running')
    expect(row).toHaveTextContent('healthy')
    expect(row).toHaveTextContent('nginx:1.27')
    expect(row).toHaveTextContent('1h 30m')
    await fireEvent.click(screen.getByText(':8080'))
    expect(props.onopen).toHaveBeenCalledWith('http://localhost:8080/')
    await fireEvent.click(screen.getByTestId('recreate-shop-web'))
    expect(props.onrecreate).toHaveBeenCalledWith('web')
    await fireEvent.click(screen.getByTestId('down-shop'))
    expect(props.ondown).toHaveBeenCalledWith(false)
  })

  it('has a Shell button per service', async () => {
    const onshell = vi.fn()
    render(EnvironmentDetail, { props: { env, onup: vi.fn(), ondown: vi.fn(), onrecreate: vi.fn(), onlogs: vi.fn(), onopen: vi.fn(), ondismiss: vi.fn(), onshell } })
    await fireEvent.click(screen.getByTestId('shell-shop-web'))
    expect(onshell).toHaveBeenCalledWith('web')
  })

  it('shows the error where the op failed', () => {
    const op = { id: 1, kind: 'create-container', resource: 'shop-web-1', cause: 'container missing' }
    const progress = { what: 'up', ops: [op], status: { 1: { status: 'failed', error: 'port 8080 is already allocated' } }, done: true, error: 'up failed' }
    render(EnvironmentDetail, { props: { env, progress, onup: vi.fn(), ondown: vi.fn(), onrecreate: vi.fn(), onlogs: vi.fn(), onopen: vi.fn(), ondismiss: vi.fn() } })
    expect(screen.getByTestId('progress-shop')).toHaveTextContent('create-container shop-web-1')
    expect(screen.getByTestId('progress-shop')).toHaveTextContent('port 8080 is already allocated')
  })
})

describe('PlanDialog', () => {
  it('lists ops with causes and confirms', async () => {
    const onconfirm = vi.fn()
    const pending = { title: 'Down shop', env: 'shop', action: 'down', result: result('shop', ['remove-container']), destructive: true, run: vi.fn() }
    render(PlanDialog, { props: { pending, onconfirm, oncancel: vi.fn() } })
    expect(screen.getByTestId('plan-dialog')).toHaveTextContent('remove-container')
    expect(screen.getByTestId('plan-dialog')).toHaveTextContent('container missing')
    await fireEvent.click(screen.getByTestId('plan-confirm'))
    expect(onconfirm).toHaveBeenCalled()
  })
})
