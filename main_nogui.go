//go:build nogui

// Command berth, built with -tags nogui: the command line only, with no
// window, no Wails, no cgo and no WebKit (CGO_ENABLED=0 works). Without
// arguments it prints the help. The web dashboard (berth ui --web) is
// still there: it needs only the embedded frontend.
package main

import (
	"os"

	"github.com/berthdev/berth/app/cli"
)

func main() {
	cli.Assets = frontendAssets()
	cli.WebServer = serveWeb
	os.Exit(cli.Main(os.Args[1:]))
}
