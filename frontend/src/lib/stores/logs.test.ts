import { describe, expect, it } from 'vitest'
import { fakeAPI } from '../../test/fakeApi'
import { LogsStore } from './logs.svelte'

describe('LogsStore', () => {
  it('keeps a bounded buffer, applies batches once per frame, and searches', async () => {
    const { api, log } = fakeAPI()
    const frames: (() => void)[] = []
    const store = new LogsStore(api, { max: 5000, schedule: (f) => frames.push(f) })
    await store.open('shop', 'web')
    expect(api.subscribeLogs).toHaveBeenCalledWith({ env: 'shop', service: 'web' })
    // 1,000 lines a second for 6 seconds, in batches of 50 ms.
    for (let b = 0; b < 120; b++) {
      log({ id: 'logs-1', lines: Array.from({ length: 50 }, (_, i) => ({ service: 'web', container: 'c', stream: 'stdout', time: '', text: `line ${b * 50 + i}` })) })
      log({ id: 'other', lines: [{ service: 'x', container: 'c', stream: 'stdout', time: '', text: 'not mine' }] })
      if (b % 3 === 2) frames.splice(0).forEach((f) => f())
    }
    frames.splice(0).forEach((f) => f())
    expect(store.lines).toHaveLength(5000)
    expect(store.lines[0].text).toBe('line 1000')
    expect(store.lines.at(-1)!.text).toBe('line 5999')
    store.search = 'LINE 599'
    expect(store.visible.map((l) => l.text)).toEqual([...Array.from({ length: 10 }, (_, i) => `line 599${i}`)])
    log({ id: 'logs-1', lines: [], done: true, error: 'container went away' })
    expect(store.ended).toBe('container went away')
    await store.close()
    expect(api.unsubscribeLogs).toHaveBeenCalledWith('logs-1')
  })
})
