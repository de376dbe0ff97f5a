package main

import (
	"context"
	"io/fs"

	"github.com/berthdev/berth/app/cli"
	"github.com/berthdev/berth/app/root"
	"github.com/berthdev/berth/app/web"
)

// serveWeb is the CLI's hook for `berth ui --web` (cli.WebServer).
func serveWeb(ctx context.Context, r *root.Root, opts cli.WebOptions, assets fs.FS, out func(string)) error {
	return web.Serve(ctx, r.Core(), web.Options{
		Addr:     opts.Addr,
		TLSCert:  opts.TLSCert,
		TLSKey:   opts.TLSKey,
		Insecure: opts.Insecure,
		Assets:   assets,
		Settings: r,
		Announce: func(url string) { out("Berth dashboard: " + url) },
	})
}
