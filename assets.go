package main

import (
	"embed"
	"io/fs"
)

// The built frontend. go:embed needs frontend/dist to exist and hold a
// file, so the repository tracks frontend/dist/.gitkeep (a placeholder that
// frontend/vite.config.ts writes back after every build): a fresh clone
// builds, vets and tests without Node, and only a binary meant to show the
// UI needs `npm run build` first (scripts/build.sh does it). The all:
// prefix keeps the placeholder, a dotfile, in the pattern, so that the
// directive matches something before the first frontend build.
//
//go:embed all:frontend/dist
var dist embed.FS

// notBuilt is the page shown by a binary compiled before the frontend.
//
//go:embed build/notbuilt/index.html
var notBuilt embed.FS

// frontendAssets returns the frontend with index.html at its root, or a
// page saying how to build it when frontend/dist held only the placeholder.
func frontendAssets() fs.FS {
	if sub, err := fs.Sub(dist, "frontend/dist"); err == nil {
		if _, err := fs.Stat(sub, "index.html"); err == nil {
			return sub
		}
	}
	sub, err := fs.Sub(notBuilt, "build/notbuilt")
	if err != nil {
		panic(err) // a constant path into an embedded tree
	}
	return sub
}
