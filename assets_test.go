package main

import (
	"io/fs"
	"strings"
	"testing"
)

// TestFrontendAssets holds before and after `npm run build`: the binary
// always has an index.html to serve, the built one or the page that says
// how to build it.
func TestFrontendAssets(t *testing.T) {
	assets := frontendAssets()
	index, err := fs.ReadFile(assets, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(index), "<title>Berth</title>") {
		t.Errorf("index.html is not Berth's:\n%s", index)
	}
	_, built := fs.Stat(dist, "frontend/dist/index.html")
	t.Logf("frontend built: %t", built == nil)
}
