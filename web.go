package main

import (
	"context"
	"io/fs"

	"github.com/berthdev/berth/app/root"
	"github.com/berthdev/berth/app/web"
)

// serveWeb is the CLI's hook for `berth ui --web` (cli.WebServer).
func serveWeb(ctx context.Context, r *root.Root, addr string, assets fs.FS, out func(string)) error {
	return web.Serve(ctx, r.Core(), web.Options{
		Addr:     addr,
		Assets:   assets,
		Settings: r,
		Announce: func(url string) { out("Berth dashboard: " + url) },
	})
}
