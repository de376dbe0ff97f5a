package spec

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DefinitionInfo is one definition of a definitions repo, as listed.
type DefinitionInfo struct {
	// Name is the definition's folder name.
	Name        string
	Description string
	// Dir is the absolute path of the definition folder.
	Dir string
	// Manifest is the definition's manifest; nil when Err is set.
	Manifest *Manifest
	// Err is why the definition cannot be used (an invalid or missing
	// berth.yaml), so that one broken definition does not hide the others.
	Err error
}

// ListDefinitions lists the definitions under root: every root/<name>/
// holding a berth.yaml, sorted by name. A folder with Compose files but no
// berth.yaml is listed too, with an error saying it needs one. Hidden
// folders are skipped. Only a root that cannot be read is an error.
func ListDefinitions(root string) ([]DefinitionInfo, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, err
	}
	var out []DefinitionInfo
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(abs, e.Name())
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue // also follows links to folders
		}
		if !exists(filepath.Join(dir, ManifestFile)) && !hasComposeFile(dir) {
			continue
		}
		info := DefinitionInfo{Name: e.Name(), Dir: dir}
		m, err := ReadManifest(dir)
		if err != nil {
			info.Err = err
		} else {
			info.Manifest = m
			info.Description = m.Description
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func hasComposeFile(dir string) bool {
	for _, name := range DefaultComposeFiles {
		if exists(filepath.Join(dir, name)) {
			return true
		}
	}
	return false
}
