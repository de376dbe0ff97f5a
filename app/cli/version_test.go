package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// TestVersion: berth version prints the version stamped in at build time
// (scripts/version.sh through -ldflags -X), as text and as JSON.
func TestVersion(t *testing.T) {
	old := Version
	t.Cleanup(func() { Version = old })
	Version = "1.2.3+git4.abcdef0"
	version := func(args ...string) string {
		t.Helper()
		var out, errs bytes.Buffer
		if code := run(context.Background(), args, &out, &errs); code != ExitOK {
			t.Fatalf("%v: exit code %d: %s", args, code, errs.String())
		}
		return out.String()
	}
	if got := version("version"); got != "berth 1.2.3+git4.abcdef0\n" {
		t.Errorf("berth version printed %q", got)
	}
	var v struct{ Version string }
	if err := json.Unmarshal([]byte(version("-o", "json", "version")), &v); err != nil || v.Version != Version {
		t.Errorf("berth -o json version: %+v, %v", v, err)
	}
}
