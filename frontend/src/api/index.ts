// The only code that talks to Go. Components import from here.
import type { BerthAPI } from './client'
import { httpTransport, type HttpOptions } from './http'
import { isWails, wailsTransport, type WailsWindow } from './wails'

export type { BerthAPI } from './client'
export { ApiError, toError, untrusted } from './client'
export { httpTransport } from './http'
export { wailsTransport, isWails } from './wails'
export * from './types'

/**
 * connect picks the transport once, at start: the Wails bindings when the
 * page runs in the desktop window, else HTTP to the server that served it.
 */
export function connect(win: WailsWindow = window as unknown as WailsWindow, http?: HttpOptions): BerthAPI {
  return isWails(win) ? wailsTransport(win) : httpTransport(http)
}
