import { describe, expect, it, vi } from 'vitest'
import { fireEvent, render, screen } from '@testing-library/svelte'
import { ApiError, type TrustReview } from '../../api'
import { fakeAPI, sampleRevisions } from '../../test/fakeApi'
import { BerthStore } from './berth.svelte'
import TrustDialog from '../components/TrustDialog.svelte'
import TrustPanel from '../components/TrustPanel.svelte'

const socket = { kind: 'docker-socket', subject: '/var/run/docker.sock (read-only)', text: "mounts the Docker engine's socket into web", file: 'compose.yaml', line: 9, field: 'services.web.volumes' }
const port = { kind: 'all-interfaces', subject: 'web: 80/tcp', text: 'publishes port 80/tcp of web as 8080 on every network interface' }

function untrustedReview(over: Partial<TrustReview> = {}): TrustReview {
  return { repo: 'path:/defs', definition: 'shop', capabilities: [socket, port], digest: 'd1', trusted: false, ...over }
}

describe('trust before the first action', () => {
  it('asks before planning a new environment, plans only once granted, and grants the digest it showed', async () => {
    const { api } = fakeAPI({ reviewTrust: vi.fn(async () => untrustedReview()) })
    const store = new BerthStore(api)
    await store.newEnvironment('shop', 'shop-2')
    expect(api.reviewTrust).toHaveBeenCalledWith('shop', '')
    expect(api.plan).not.toHaveBeenCalled()
    expect(store.pending).toBeNull()
    expect(store.pendingTrust?.review.digest).toBe('d1')
    expect(store.pendingTrust?.title).toBe('New environment shop-2 from shop')

    vi.mocked(api.reviewTrust).mockResolvedValue({ ...untrustedReview(), trusted: true })
    await store.grantTrust()
    expect(api.trust).toHaveBeenCalledWith('shop', '', 'd1')
    expect(store.pendingTrust).toBeNull()
    expect(api.plan).toHaveBeenCalledWith('shop', 'shop-2', '')
    expect(store.pending?.title).toBe('New environment shop-2 from shop')
    expect(store.log.some((l) => l.text.includes('trusted shop: 2 capabilities granted'))).toBe(true)
  })

  it('cancelling runs nothing; a grant that shows more asks again', async () => {
    const { api } = fakeAPI({ reviewTrust: vi.fn(async () => untrustedReview()) })
    const store = new BerthStore(api)
    await store.deploy('shop', sampleRevisions()[0])
    expect(api.reviewTrust).toHaveBeenCalledWith('shop', sampleRevisions()[0].hash)
    store.cancelTrust()
    expect(store.pendingTrust).toBeNull()
    expect(api.planDeploy).not.toHaveBeenCalled()

    await store.deploy('shop', sampleRevisions()[0])
    const more = untrustedReview({ digest: 'd2', capabilities: [socket, port, { kind: 'privileged', subject: 'web', text: 'runs web privileged' }] })
    vi.mocked(api.trust).mockResolvedValueOnce(more)
    await store.grantTrust()
    expect(store.pendingTrust?.review.digest).toBe('d2')
    expect(api.planDeploy).not.toHaveBeenCalled()
  })

  it('an action refused as untrusted after all (a rollback) opens the dialog with the review it carried', async () => {
    const review = untrustedReview({ revision: 'a1a1a1a1a1a1a1a1' })
    const { api } = fakeAPI({ planRollback: vi.fn(() => Promise.reject(new ApiError('definition "shop" at a1a1a1a is not trusted yet', 403, review))) })
    const store = new BerthStore(api)
    await store.rollback('shop')
    expect(store.planError).toBeNull()
    expect(store.pendingTrust?.rev).toBe('a1a1a1a1a1a1a1a1')
  })

  it('the dialog lists what it can do with where, marks new and refused ones, and grants on click', async () => {
    const ongrant = vi.fn()
    const pending = { review: untrustedReview({ granted: { id: 1, repo: 'path:/defs', definition: 'shop', decision: 'granted', decidedAt: '' }, new: [socket] }), title: 'Up shop', env: 'shop', rev: '', resume: async () => {} }
    const { unmount } = render(TrustDialog, { props: { pending, error: null, ongrant, oncancel: vi.fn() } })
    const list = screen.getByTestId('capabilities')
    expect(list).toHaveTextContent("mounts the Docker engine's socket into web")
    expect(list).toHaveTextContent('compose.yaml:9 services.web.volumes')
    expect(screen.getByTestId('trust-dialog')).toHaveTextContent('asks for more than you granted it')
    expect(list.querySelector('[data-kind="docker-socket"]')).toHaveTextContent('new')
    expect(list.querySelector('[data-kind="all-interfaces"]')).not.toHaveTextContent('new')
    await fireEvent.click(screen.getByTestId('trust-grant'))
    expect(ongrant).toHaveBeenCalled()
    unmount()

    const refused = { ...pending, review: untrustedReview({ refused: [socket] }) }
    render(TrustDialog, { props: { pending: refused, error: null, ongrant, oncancel: vi.fn() } })
    expect(screen.queryByTestId('trust-grant')).toBeNull()
    expect(screen.getByTestId('trust-dialog')).toHaveTextContent('The settings refuse')
  })

  it('the panel shows the state and revokes', async () => {
    const onrevoke = vi.fn()
    render(TrustPanel, {
      props: { review: { ...untrustedReview(), trusted: true, granted: { id: 1, repo: 'path:/defs', definition: 'shop', decision: 'granted', decidedAt: '2026-12-01T10:00:00Z', how: 'app' } }, onrevoke },
    })
    expect(screen.getByTestId('trust-panel')).toHaveTextContent('trusted since')
    await fireEvent.click(screen.getByTestId('trust-revoke'))
    expect(onrevoke).toHaveBeenCalled()
  })

  it('loads the review of the selected environment and revokes it', async () => {
    const { api } = fakeAPI()
    const store = new BerthStore(api)
    store.start()
    await vi.waitFor(() => expect(store.trust.shop?.trusted).toBe(true))
    await store.revokeTrust('shop')
    expect(api.revokeTrust).toHaveBeenCalledWith('shop', expect.any(String))
    expect(store.log.at(-1)?.text).toContain('revoked the trust of shop')
  })
})
