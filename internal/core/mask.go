package core

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/secret"
	"github.com/berthdev/berth/internal/spec"
)

// masker masks secret values in what core hands out (drift reports, the
// events and changes carrying them): one key per process.
var masker = secret.NewMasker()

// secretItem says whether a runtime difference is about a secret: an
// environment variable with a secret name, or whose value came from
// interpolation or the user's environment, or any value carrying
// credentials.
func secretItem(p *spec.Project, it drift.Item) bool {
	if name, ok := strings.CutPrefix(it.Path, "/environment/"); ok {
		name = strings.ReplaceAll(strings.ReplaceAll(name, "~1", "/"), "~0", "~")
		if secret.Name(name) {
			return true
		}
		if s := p.Service(it.Service); s != nil {
			for _, k := range s.Interpolated {
				if k == name {
					return true
				}
			}
		}
	}
	for _, v := range []*string{it.Desired, it.Live} {
		if v != nil && (secret.Value(*v) || secret.Redact(*v) != *v) {
			return true // credentials, or a stored secret's value in it
		}
	}
	return false
}

// maskItems returns items with the values of secret ones masked (a keyed
// hash prefix: a change still shows as one).
func maskItems(p *spec.Project, items []drift.Item) []drift.Item {
	out := make([]drift.Item, len(items))
	for i, it := range items {
		if secretItem(p, it) {
			it.Desired, it.Live = maskPtr(it.Desired), maskPtr(it.Live)
		}
		out[i] = it
	}
	return out
}

func maskPtr(v *string) *string {
	if v == nil {
		return nil
	}
	m := masker.Mask(*v)
	return &m
}

// secretLines lists the assignments of a file (KEY=value, KEY: value)
// that set a secret: a secret name with a value, or a value carrying
// credentials; each as "KEY" with its line.
func secretLines(data []byte) map[string]int {
	out := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "- "))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			k, v, ok = strings.Cut(line, ":")
		}
		if !ok {
			continue
		}
		k, v = strings.Trim(strings.TrimSpace(strings.TrimPrefix(k, "export ")), `"'`), strings.Trim(strings.TrimSpace(v), `"'`)
		if v == "" || strings.HasPrefix(v, "${") || strings.HasPrefix(v, "$") {
			continue // empty, or from the environment: no value here
		}
		if secret.Name(k) || secret.Value(v) {
			out[k+"\x00"+v] = n
		}
	}
	return out
}

// newSecrets says which secret assignments of edited are not in
// committed, as "line N sets KEY".
func newSecrets(committed, edited []byte) []string {
	had := secretLines(committed)
	var out []string
	for kv, n := range secretLines(edited) {
		if _, ok := had[kv]; !ok {
			k, _, _ := strings.Cut(kv, "\x00")
			out = append(out, fmt.Sprintf("line %d sets %s", n, k))
		}
	}
	return out
}

// pristineReader reads files of d's definition as committed at its
// revision; a file it cannot read reads as empty (so every secret in its
// edited copy counts as new). release removes the copy.
func (b *Berth) pristineReader(ctx context.Context, d *deployedEnv) (read func(path string) []byte, release func()) {
	none := func(string) []byte { return nil }
	fd, ok := b.revs.(FileDrifter)
	if !ok || d.rev == nil {
		return none, func() {}
	}
	dir, rel, err := fd.Pristine(ctx, *d.rev, d.def)
	if err != nil {
		return none, func() {}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		rel()
		return none, func() {}
	}
	return func(p string) []byte {
			data, _ := root.ReadFile(filepath.FromSlash(p))
			return data
		}, func() {
			root.Close()
			rel()
		}
}
