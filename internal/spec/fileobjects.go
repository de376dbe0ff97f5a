package spec

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// maxFileObject bounds a secret or config read into memory (Swarm's own
// limit is 500 KiB; a definition's file is capped at the same size as a
// Compose file).
const maxFileObject = maxDefinitionFile

// readFileObjects reads the content of the project's secrets and configs:
// a file source once the fence lets it be read, an environment source from
// the load's variables, an inline config as written. The services' file
// mounts get each content's digest, so that a changed secret recreates
// the containers that use it. A file not granted leaves the object empty
// (the project is Blocked and does not run).
func readFileObjects(f *fence, src *sources, p *Project, env map[string]string, key []byte) Errors {
	var errs Errors
	read := func(kind string, list []FileObject) {
		for i := range list {
			o := &list[i]
			at := []string{kind, o.Key}
			switch {
			case o.Inline:
			case o.Env != "":
				v, ok := env[o.Env]
				if !ok {
					errs = append(errs, src.errorAt(append(at, "environment"),
						fmt.Sprintf("the variable %s that %s %q is read from is not set (set it in the definition's .env, in local settings, or grant it from your environment)",
							o.Env, kindOne(kind), o.Key), nil))
					continue
				}
				o.Content = []byte(v)
			default:
				ok, err := f.may(o.File)
				if err != nil {
					errs = append(errs, src.errorAt(append(at, "file"), err.Error(), err))
					continue
				}
				if !ok {
					continue // blocked: not read
				}
				data, err := readCapped(o.File, maxFileObject)
				if err != nil {
					errs = append(errs, src.errorAt(append(at, "file"),
						fmt.Sprintf("reading %s %q from %s: %v", kindOne(kind), o.Key, displayPath(o.File), err), err))
					continue
				}
				o.Content = data
			}
			o.Digest = contentDigest(key, o.Content)
		}
	}
	read("secrets", p.Secrets)
	read("configs", p.Configs)
	for i := range p.Services {
		s := &p.Services[i]
		for j := range s.Secrets {
			if o := p.Secret(s.Secrets[j].Source); o != nil {
				s.Secrets[j].Digest = o.Digest
			}
		}
		for j := range s.Configs {
			if o := p.Config(s.Configs[j].Source); o != nil {
				s.Configs[j].Digest = o.Digest
			}
		}
	}
	return errs
}

// contentDigest is the HMAC-SHA256 of content under key, or its SHA-256
// without a key.
func contentDigest(key, content []byte) string {
	if key == nil {
		sum := sha256.Sum256(content)
		return hex.EncodeToString(sum[:])
	}
	m := hmac.New(sha256.New, key)
	m.Write(content)
	return hex.EncodeToString(m.Sum(nil))
}

func kindOne(kind string) string {
	if kind == "secrets" {
		return "secret"
	}
	return "config"
}

// readCapped reads a regular file of at most limit bytes.
func readCapped(path string, limit int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}
