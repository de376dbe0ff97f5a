package engine

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/berthdev/berth/internal/dockerignore"
)

// buildContext is a tar stream of a build context and the Dockerfile's
// path inside it.
type buildContext struct {
	r          io.ReadCloser
	dockerfile string
}

// tarBuildContext tars dir for ImageBuild: it honours .dockerignore (the
// Dockerfile and .dockerignore are always sent, as the docker CLI does),
// stores symlinks as links without following them, and skips devices,
// sockets and pipes. A Dockerfile outside the context is added under a
// generated name. The tar is streamed; errors surface on read.
func tarBuildContext(dir, dockerfile string) (*buildContext, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("build context %s is not a folder", dir)
	}
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	dfPath := dockerfile
	if !filepath.IsAbs(dfPath) {
		dfPath = filepath.Join(dir, dfPath)
	}
	var rules *dockerignore.Matcher
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		rules, err = dockerignore.Parse(f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}

	// The Dockerfile's name inside the tar; outside the context it is
	// read now and added under a name derived from its content.
	var extra []byte
	dfName := ""
	if rel, err := filepath.Rel(dir, dfPath); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		dfName = filepath.ToSlash(rel)
		if _, err := os.Lstat(dfPath); err != nil {
			return nil, fmt.Errorf("dockerfile: %w", err)
		}
	} else {
		extra, err = os.ReadFile(dfPath)
		if err != nil {
			return nil, fmt.Errorf("dockerfile: %w", err)
		}
		sum := sha256.Sum256(extra)
		dfName = ".berth-dockerfile-" + hex.EncodeToString(sum[:6])
	}

	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeContextTar(pw, dir, rules, dfName, extra))
	}()
	return &buildContext{r: pr, dockerfile: dfName}, nil
}

func writeContextTar(w io.Writer, dir string, rules *dockerignore.Matcher, dfName string, extra []byte) error {
	tw := tar.NewWriter(w)
	always := map[string]bool{".dockerignore": true}
	if extra == nil {
		always[dfName] = true
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rules.Excluded(rel) && !always[rel] {
			if d.IsDir() && !rules.HasExceptions() && !strings.HasPrefix(dfName, rel+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info() // Lstat: a symlink is not followed
		if err != nil {
			return err
		}
		link := ""
		switch mode := info.Mode(); {
		case mode&fs.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		case mode.IsRegular(), mode.IsDir():
		default:
			return nil // devices, sockets, pipes
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = rel
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		hdr.Format = tar.FormatPAX
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	if extra != nil {
		if err := tw.WriteHeader(&tar.Header{Name: dfName, Mode: 0o644, Size: int64(len(extra)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := io.Copy(tw, bytes.NewReader(extra)); err != nil {
			return err
		}
	}
	return tw.Close()
}
