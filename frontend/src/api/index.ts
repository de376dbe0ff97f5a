// The only code that talks to Go. Components import from here.
import type { BerthAPI } from './client'
import { httpTransport, pageToken, type HttpOptions, type TokenWindow } from './http'
import { isWails, wailsTransport, type WailsWindow } from './wails'

export type { BerthAPI } from './client'
export { ApiError, toError, untrusted } from './client'
export { httpTransport, pageToken } from './http'
export { wailsTransport, isWails } from './wails'
export * from './types'

/**
 * connect picks the transport once, at start: the Wails bindings when the
 * page runs in the desktop window (no HTTP, no token), else HTTP to the
 * server that served it, with the token the page was opened with.
 */
export function connect(win: WailsWindow & Partial<TokenWindow> = window as unknown as WailsWindow & TokenWindow, http?: HttpOptions): BerthAPI {
  if (isWails(win)) return wailsTransport(win)
  const token = win.location && win.history && win.sessionStorage ? pageToken(win as TokenWindow) : undefined
  return httpTransport({ token, ...http })
}
