package main

import (
	"context"
	"io/fs"

	"github.com/berthdev/berth/app/web"
	"github.com/berthdev/berth/internal/core"
)

// serveWeb is the CLI's hook for `berth ui --web` (cli.WebServer).
func serveWeb(ctx context.Context, b *core.Berth, addr string, assets fs.FS, out func(string)) error {
	return web.Serve(ctx, b, web.Options{
		Addr:     addr,
		Assets:   assets,
		Announce: func(url string) { out("Berth dashboard: " + url) },
	})
}
