package root

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/spec"
)

// definitions reads definitions from a folder of <name>/berth.yaml; the
// folder can be changed at run time.
type definitions struct {
	mu  sync.Mutex
	dir string
	ids map[string]string // folder → repo identity (trust.go)
}

func (d *definitions) folder() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dir
}

func (d *definitions) point(dir string) {
	d.mu.Lock()
	d.dir = dir
	d.mu.Unlock()
}

func (d *definitions) List(ctx context.Context) ([]core.Definition, error) {
	infos, err := spec.ListDefinitions(d.folder())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return []core.Definition{}, nil
		}
		return nil, err
	}
	out := make([]core.Definition, 0, len(infos))
	for _, i := range infos {
		def := core.Definition{Name: i.Name, Description: i.Description, Dir: i.Dir}
		if i.Err != nil {
			def.Error = i.Err.Error()
		}
		if m := i.Manifest; m != nil {
			for _, v := range m.VariantNames() {
				def.Variants = append(def.Variants, core.VariantInfo{Name: v, Description: m.Variants[v].Description})
			}
			for _, sc := range m.Secrets {
				def.Secrets = append(def.Secrets, core.SecretStatus{Scope: "definition", Owner: i.Name, Name: sc.Name,
					Description: sc.Description, Declared: true, Required: sc.IsRequired()})
			}
		}
		out = append(out, def)
	}
	return out, nil
}

func (d *definitions) Load(ctx context.Context, name string, opts spec.LoadOptions) (*spec.Project, error) {
	dir, ok := d.Folder(name)
	if !ok {
		return nil, fmt.Errorf("definition %q: %w in %s", name, core.ErrNotFound, d.folder())
	}
	return spec.LoadDefinition(ctx, dir, opts)
}

// Folder is a definition's folder in the definitions folder, if it holds
// one (core.DefinitionFolders).
func (d *definitions) Folder(name string) (string, bool) {
	if !filepath.IsLocal(name) {
		return "", false
	}
	dir := filepath.Join(d.folder(), name)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", false
	}
	return dir, true
}
