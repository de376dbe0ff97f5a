package dbclone

import (
	"archive/tar"
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Seed formats and compressions.
const (
	FormatPlain     = "plain"
	FormatCustom    = "custom"
	FormatDirectory = "directory"
	CompressNone    = ""
	CompressGzip    = "gzip"
	CompressZstd    = "zstd"
)

// DefaultSeedLimit is the most a compressed seed may unpack to (gzip in
// the helper, zstd on this machine before the upload), unless
// Cloner.SeedLimit says otherwise. The unpacked seed is written to disk
// (the helper container's layer on the engine's disk, or this machine's
// temporary folder) before it is loaded, and gzip expands up to about
// 1000 times, zstd far more: a seed of a few megabytes in a repo could
// fill either disk. 16 GiB is well above a development database's dump
// (the db benchmark's largest, 4x pgbench at scale 70, is about 4 GB of
// SQL) and still a fraction of a developer machine's free disk. A seed
// that reaches it fails, naming the seed and the limit, and leaves no
// golden copy.
const DefaultSeedLimit int64 = 16 << 30

// zstdMaxWindow is the largest zstd window a seed may use: what the zstd
// command line decompresses without --memory (128 MiB); the decoder
// allocates that much up front whatever the frame holds.
const zstdMaxWindow = 128 << 20

// newZstdReader reads a zstd stream with the window bounded.
func newZstdReader(r io.Reader) (*zstd.Decoder, error) {
	return zstd.NewReader(r, zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderConcurrency(1))
}

// windowError explains a zstd seed whose window is over zstdMaxWindow; nil
// for any other error.
func windowError(what string, err error) error {
	if !errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return nil
	}
	return fmt.Errorf("%w: %s needs a zstd window larger than %s (compressed with --long above 27?): compress it again without it",
		ErrSource, what, sizeText(zstdMaxWindow))
}

// tooBigError is a compressed seed that unpacks to more than the limit.
func tooBigError(what string, limit int64) error {
	return fmt.Errorf("%w: %s unpacks to more than %s, the limit for an unpacked seed (a compression bomb, or a seed larger than allowed: set BERTH_SEED_LIMIT_GIB to raise it)",
		ErrSource, what, sizeText(limit))
}

// sizeText writes n bytes in the largest binary unit that divides it.
func sizeText(n int64) string {
	for _, u := range []struct {
		unit  string
		shift uint
	}{{"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + " " + u.unit
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// seedTooBig reads the load script's "berth-error too-big LIMIT" line.
func seedTooBig(what, out string) error {
	if !strings.Contains(out, "berth-error too-big") {
		return nil
	}
	limit, _ := strconv.ParseInt(lastField(out, "berth-error too-big "), 10, 64)
	return tooBigError(what, limit)
}

// seedLimit is the limit in effect.
func (c *Cloner) seedLimit() int64 {
	if c.SeedLimit > 0 {
		return c.SeedLimit
	}
	return DefaultSeedLimit
}

// SeedInfo is what a seed is.
type SeedInfo struct {
	Path        string
	Format      string
	Compression string
	// SHA256 is its checksum: of the file, or for a folder of the lines
	// sha256sum prints for its files in name order (see ChecksumSeed).
	SHA256 string
	Size   int64
}

// ChecksumSeed returns a seed's SHA-256 in hex. For a file it is what
// sha256sum prints; for a directory-format folder it is the checksum of
// the lines `(cd DIR && find . -type f | sort | xargs sha256sum)` prints.
func ChecksumSeed(p string) (string, int64, error) { return checksumSeed(p, false) }

// checksumSeed is ChecksumSeed; with remembered it takes a file's checksum
// from an earlier read when the file has the same size and modification
// time (look-ups: listing a database's golden copy, berth gc), else it
// reads every byte (what verifies a seed before it is loaded).
func checksumSeed(p string, remembered bool) (string, int64, error) {
	sum := fileSum
	if remembered {
		sum = rememberedSum
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", 0, err
	}
	if !fi.IsDir() {
		return sum(p)
	}
	var files []string
	err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(p, q)
			files = append(files, "./"+filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	sort.Strings(files)
	h := sha256.New()
	var total int64
	for _, f := range files {
		sum, n, err := sum(filepath.Join(p, filepath.FromSlash(f)))
		if err != nil {
			return "", 0, err
		}
		total += n
		fmt.Fprintf(h, "%s  %s\n", sum, f)
	}
	return hex.EncodeToString(h.Sum(nil)), total, nil
}

// fileStamp says which version of a file a remembered checksum is of.
type fileStamp struct {
	path  string
	size  int64
	mtime int64 // ns
}

type fileChecksum struct {
	sum string
	n   int64
}

// sums are the checksums rememberedSum read, by fileStamp.
var sums sync.Map

// rememberedSum is fileSum, read once per version of the file.
func rememberedSum(p string) (string, int64, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", 0, err
	}
	st := fileStamp{path: p, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if c, ok := sums.Load(st); ok {
		return c.(fileChecksum).sum, c.(fileChecksum).n, nil
	}
	sum, n, err := fileSum(p)
	if err == nil && n == st.size {
		sums.Store(st, fileChecksum{sum, n})
	}
	return sum, n, err
}

func fileSum(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// InspectSeed finds a seed's format and compression (by content, not by
// name) and its checksum, and verifies the checksum when want is set.
func InspectSeed(p, want string) (SeedInfo, error) { return inspectSeed(p, want, false) }

// inspectSeed is InspectSeed; remembered as for checksumSeed.
func inspectSeed(p, want string, remembered bool) (SeedInfo, error) {
	info := SeedInfo{Path: p}
	sum, size, err := checksumSeed(p, remembered)
	if err != nil {
		return info, fmt.Errorf("reading seed %s: %w", p, err)
	}
	info.SHA256, info.Size = sum, size
	if want != "" && !strings.EqualFold(want, sum) {
		return info, fmt.Errorf("%w: seed %s: checksum mismatch: the manifest says sha256 %s, the file has %s (the seed changed or is damaged; update sha256 if the change is meant)",
			ErrSource, filepath.Base(p), want, sum)
	}
	fi, _ := os.Stat(p)
	if fi.IsDir() {
		if _, err := os.Stat(filepath.Join(p, "toc.dat")); err != nil {
			return info, fmt.Errorf("%w: seed %s is a folder without toc.dat: not a pg_dump directory-format dump", ErrSource, filepath.Base(p))
		}
		info.Format = FormatDirectory
		return info, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return info, err
	}
	defer f.Close()
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	var r io.Reader
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		info.Compression = CompressGzip
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		info.Compression = CompressZstd
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return info, err
	}
	r = f
	switch info.Compression {
	case CompressGzip:
		gz, err := gzip.NewReader(f)
		if err != nil {
			return info, fmt.Errorf("%w: seed %s: not a readable gzip file: %v", ErrSource, filepath.Base(p), err)
		}
		defer gz.Close()
		r = gz
	case CompressZstd:
		zr, err := newZstdReader(f)
		if err != nil {
			return info, fmt.Errorf("%w: seed %s: not a readable zstd file: %v", ErrSource, filepath.Base(p), err)
		}
		defer zr.Close()
		r = zr
	}
	inner := make([]byte, 16)
	n, err = io.ReadFull(r, inner)
	if werr := windowError("seed "+filepath.Base(p), err); werr != nil {
		return info, werr
	}
	if n == 0 {
		return info, fmt.Errorf("%w: seed %s is empty or unreadable: %v", ErrSource, filepath.Base(p), err)
	}
	inner = inner[:n]
	if bytes.HasPrefix(inner, []byte("PGDMP")) {
		info.Format = FormatCustom
		if len(inner) >= 8 {
			if err := checkArchiveVersion(inner[5], inner[6], filepath.Base(p)); err != nil {
				return info, err
			}
		}
	} else {
		info.Format = FormatPlain
	}
	return info, nil
}

// maxArchiveMinor is the newest custom-format archive version (1.x) that
// the PostgreSQL 15 tools read; PostgreSQL 16's pg_dump writes 1.15.
const maxArchiveMinor = 14

func checkArchiveVersion(major, minor byte, name string) error {
	if major > 1 || minor > maxArchiveMinor {
		return fmt.Errorf("%w: seed %s was made by a newer pg_dump (archive version %d.%d) than PostgreSQL 15's pg_restore reads (up to 1.%d): use a postgres image of the major version the dump came from, or dump again with that version's tools",
			ErrSource, name, major, minor, maxArchiveMinor)
	}
	return nil
}

// goldenKey is what a golden copy is keyed by: the source's identity, the
// image, and the service's user, database and password (hashed; never
// stored in clear).
func goldenKey(source, imageID string, t Target, fl *flavour) string {
	h := sha256.New()
	fmt.Fprintf(h, "v1\x00%s\x00%s\x00%s\x00%s\x00%s\x00", source, imageID, t.User, t.Database, t.AuthMethod)
	pw := sha256.Sum256([]byte(t.Password))
	h.Write(pw[:])
	if x := fl.keyExtra(t); x != "" {
		fmt.Fprintf(h, "\x00%s", x)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// GoldenName is the volume name of the golden copy with key.
func GoldenName(key string) string { return "berth-golden-" + key[:20] }

// Golden returns the golden copy for a seed or URL source, loading it when
// there is none yet. loaded says whether it was loaded now.
func (c *Cloner) Golden(ctx context.Context, src Source, t Target, progress func(Progress)) (v Volume, loaded bool, err error) {
	key, desc, seed, err := c.goldenKeyFor(ctx, src, t, false, progress)
	if err != nil {
		return Volume{}, false, err
	}
	name := GoldenName(key)
	if v, ok, err := c.readyGolden(ctx, name, key); err != nil || ok {
		if ok {
			c.used(ctx, v, t)
		}
		return v, false, err
	}
	if _, ok, err := c.eng.InspectVolume(ctx, name); err != nil {
		return Volume{}, false, err
	} else if ok {
		// a load that was killed before it finished
		if err := c.eng.RemoveVolume(ctx, name); err != nil {
			return Volume{}, false, err
		}
	}
	labels := map[string]string{LabelRole: RoleGolden, LabelKey: key, LabelSource: desc, LabelImage: t.Image}
	if err := c.eng.CreateVolume(ctx, name, labels, c.DriverOpts); err != nil {
		return Volume{}, false, err
	}
	done := false
	defer func() {
		if !done {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			c.removeLeftover(rctx, name)
		}
	}()
	size, major, err := c.load(ctx, name, src, seed, t, progress)
	if err != nil {
		return Volume{}, false, err
	}
	// Volume labels are fixed at creation, so a small second volume says
	// that the load finished, with what it measured.
	ready := maps.Clone(labels)
	ready[LabelRole] = roleReady
	ready[LabelSize] = strconv.FormatInt(size, 10)
	ready[LabelPGMajor] = major
	ready[LabelLoadedAt] = c.now().UTC().Format(time.RFC3339)
	if err := c.eng.CreateVolume(ctx, name+readySuffix, ready, nil); err != nil {
		return Volume{}, false, err
	}
	done = true
	v, _, err = c.readyGolden(ctx, name, key)
	if err == nil {
		c.used(ctx, v, t)
	}
	return v, true, err
}

func (c *Cloner) used(ctx context.Context, v Volume, t Target) {
	if c.Used != nil {
		c.Used(ctx, v, t)
	}
}

// goldenKeyFor computes what a golden copy of src for t is keyed by (a
// seed is read and verified for it; for a look-up, a checksum remembered
// from an earlier read of the same version of the file does).
func (c *Cloner) goldenKeyFor(ctx context.Context, src Source, t Target, lookup bool, progress func(Progress)) (key, desc string, seed SeedInfo, err error) {
	fl, err := flavourOf(t)
	if err != nil {
		return "", "", seed, err
	}
	imageID, err := c.eng.ImageID(ctx, t.Image)
	if err != nil {
		return "", "", seed, err
	}
	switch src.Kind {
	case SourceSeed:
		send(progress, Progress{Step: "verifying the seed"})
		seed, err = inspectSeed(src.Seed, src.SHA256, lookup)
		if err != nil {
			return "", "", seed, err
		}
		if err := fl.checkFormat(seed); err != nil {
			return "", "", seed, err
		}
		key = goldenKey("seed:"+seed.SHA256, imageID, t, fl)
		desc = "seed " + filepath.Base(src.Seed) + " (sha256 " + seed.SHA256[:12] + ")"
	case SourceURL:
		if src.URL == "" {
			return "", "", seed, fmt.Errorf("%w: the source URL variable %s is not set in your environment", ErrSource, src.URLName)
		}
		if _, _, err := fl.url(src, t); err != nil {
			return "", "", seed, err
		}
		day := c.now().UTC().Format("2006-01-02")
		key = goldenKey("url:"+src.URL+"\x00"+day, imageID, t, fl)
		desc = "database at $" + src.URLName + " on " + day
	default:
		return "", "", seed, fmt.Errorf("a %s source has no golden copy", src.Kind)
	}
	return key, desc, seed, nil
}

// FindGolden returns the golden copy of src for t when it is loaded,
// without loading it.
func (c *Cloner) FindGolden(ctx context.Context, src Source, t Target) (Volume, bool, error) {
	key, _, _, err := c.goldenKeyFor(ctx, src, t, true, nil)
	if err != nil {
		return Volume{}, false, err
	}
	return c.readyGolden(ctx, GoldenName(key), key)
}

const (
	roleReady   = "golden-ready"
	readySuffix = "-ready"
)

// readyGolden returns the golden volume name when its load finished, with
// the ready marker's labels.
func (c *Cloner) readyGolden(ctx context.Context, name, key string) (Volume, bool, error) {
	mark, ok, err := c.eng.InspectVolume(ctx, name+readySuffix)
	if err != nil || !ok || mark.Labels[LabelKey] != key {
		return Volume{}, false, err
	}
	v, ok, err := c.eng.InspectVolume(ctx, name)
	if err != nil || !ok {
		return Volume{}, false, err
	}
	v.Labels = maps.Clone(v.Labels)
	for _, k := range []string{LabelSize, LabelPGMajor, LabelLoadedAt} {
		v.Labels[k] = mark.Labels[k]
	}
	return v, true, nil
}

// RemoveGolden removes a golden copy and its ready marker.
func (c *Cloner) RemoveGolden(ctx context.Context, name string) error {
	if err := c.eng.RemoveVolume(ctx, name+readySuffix); err != nil {
		return err
	}
	return c.eng.RemoveVolume(ctx, name)
}

// load fills the golden volume name from src.
func (c *Cloner) load(ctx context.Context, name string, src Source, seed SeedInfo, t Target, progress func(Progress)) (size int64, major string, err error) {
	fl, err := flavourOf(t)
	if err != nil {
		return 0, "", err
	}
	t = withRandomRoot(t)
	files := fl.files(t)
	env := fl.env(t)
	env = append(env, "SRC_KIND="+string(src.Kind), "MOUNT=/data", "PGD="+path.Join("/data", relData(t)))
	var secrets []string // the URL's, besides the URL itself
	switch src.Kind {
	case SourceSeed:
		env = append(env, "FORMAT="+seed.Format, "COMPRESSION="+seed.Compression, "SEED_MAX="+strconv.FormatInt(c.seedLimit(), 10))
		files["seed"] = fileSource{path: seed.Path, zstd: seed.Compression == CompressZstd, limit: c.seedLimit(), what: src.Name}
		send(progress, Progress{Step: "uploading the seed", Total: seed.Size})
	case SourceURL:
		uf, us, err := fl.url(src, t)
		if err != nil {
			return 0, "", err
		}
		maps.Copy(files, uf)
		secrets = us
	}
	network := NoNetwork // a seed comes with the helper
	if src.Kind == SourceURL {
		network = SourceNetwork // the source server is reached over the network
	}
	upload, errc := tarStream(files)
	var step string
	res, err := c.eng.RunHelper(ctx, Helper{
		Image: t.Image, Network: network, Cmd: []string{"bash", "-c", fl.load}, Env: env,
		Mounts: []Mount{{Volume: name, Target: "/data"}},
		Upload: upload, UploadDir: "/",
		Labels: map[string]string{LabelEnv: t.Env},
		Line: func(l string) {
			if s, ok := strings.CutPrefix(l, "berth-step "); ok {
				step = s
				send(progress, Progress{Step: s})
			}
		},
	})
	// A seed refused on its way up (zstd past the limit, corrupt) says
	// more than the helper's failed upload.
	if uerr := <-errc; uerr != nil && (err == nil || errors.Is(uerr, ErrSource)) {
		return 0, "", fmt.Errorf("uploading the seed: %w", uerr)
	}
	if err != nil {
		return 0, "", fmt.Errorf("loading %s: %w", src.Name, err)
	}
	out := scrub(res.Output, append(append(fl.secrets(t), src.URL), secrets...)...)
	if res.ExitCode != 0 {
		return 0, "", fl.loadError(src, step, out)
	}
	size, _ = strconv.ParseInt(lastField(out, "berth-size "), 10, 64)
	return size, lastField(out, "berth-major "), nil
}

// loadError turns a failed load's output into an error that says what is
// wrong with the source.
func loadError(src Source, step, out string) error {
	what := src.Name
	tail := lastLines(out, 6)
	if err := seedTooBig(what, out); err != nil {
		return err
	}
	switch {
	case strings.Contains(out, "berth-error no-restrict"):
		return noRestrictError(what, lastField(out, "berth-error no-restrict "))
	case strings.Contains(out, "backslash commands are restricted"):
		return fmt.Errorf("%w: %s holds psql meta-commands (a backslash command: \\! \\o \\copy \\connect \\i ...), which Berth never runs: a seed must be SQL as pg_dump writes it (without --create; a pg_dumpall file has \\connect lines: dump each database with pg_dump), or a custom-format dump (pg_dump -Fc)\n%s", ErrSource, what, tail)
	case strings.Contains(out, "berth-error truncated"):
		return fmt.Errorf("%w: %s is truncated: the dump does not end with pg_dump's closing line", ErrSource, what)
	case strings.Contains(out, "berth-error newer-major"):
		f := strings.Fields(lastField(out, "berth-error newer-major "))
		if len(f) == 2 {
			return fmt.Errorf("%w: %s was dumped from PostgreSQL %s, newer than the image's PostgreSQL %s: use a postgres:%s image (or newer) for this database",
				ErrSource, what, f[0], f[1], f[0])
		}
	case strings.Contains(out, "unsupported version") && strings.Contains(out, "file header"):
		return fmt.Errorf("%w: %s was made by a newer pg_dump than this image's pg_restore reads: use a postgres image of the major version the dump came from\n%s", ErrSource, what, tail)
	case strings.Contains(out, "password authentication failed"), strings.Contains(out, "no password supplied"),
		strings.Contains(out, "role") && strings.Contains(out, "does not exist") && src.Kind == SourceURL:
		return fmt.Errorf("%w: %s refused the credentials in $%s\n%s", ErrSource, what, src.URLName, tail)
	case src.Kind == SourceURL && strings.Contains(out, "in service file"):
		return fmt.Errorf("%w: %s: the image's libpq does not take one of the parameters in $%s (one newer than this libpq?)\n%s", ErrSource, what, src.URLName, tail)
	case src.Kind == SourceURL && (strings.Contains(out, "could not translate host name") || strings.Contains(out, "Connection refused") ||
		strings.Contains(out, "timeout expired") || strings.Contains(out, "No route to host") || strings.Contains(out, "could not connect")):
		return fmt.Errorf("%w: %s is unreachable from the engine's containers (check the host and port in $%s)\n%s", ErrSource, what, src.URLName, tail)
	case strings.Contains(out, "No space left on device"):
		return fmt.Errorf("%w: loading %s\n%s", ErrNoSpace, what, tail)
	case strings.Contains(out, "unexpected end of file"), strings.Contains(out, "not in gzip format"), strings.Contains(out, "crc error"):
		return fmt.Errorf("%w: %s is corrupt or truncated (gzip)\n%s", ErrSource, what, tail)
	}
	if src.Kind == SourceURL && step == "reading the source database" {
		return fmt.Errorf("%w: %s could not be read with the connection in $%s\n%s", ErrSource, what, src.URLName, tail)
	}
	if step == "restoring" || step == "unpacking the seed" {
		return fmt.Errorf("%w: %s could not be restored (corrupt, truncated or not a PostgreSQL dump?)\n%s", ErrSource, what, tail)
	}
	return fmt.Errorf("loading %s failed while %s\n%s", what, cmp.Or(step, "starting"), tail)
}

// pgEnv is the non-secret environment of helper scripts.
func pgEnv(t Target) []string {
	auth := t.AuthMethod
	if auth == "" {
		auth = "scram-sha-256"
		if t.Password == "" {
			auth = "trust"
		}
	}
	user := cmp.Or(t.User, "postgres")
	return []string{"PG_USER=" + user, "PG_DB=" + cmp.Or(t.Database, user), "PG_AUTH=" + auth, "REL=" + relData(t)}
}

// relData is the data folder below the volume's mount point ("" when the
// volume is the data folder).
func relData(t Target) string {
	mount, data := cmp.Or(t.MountDir, defaultMountDir(t.Engine)), cmp.Or(t.PGData, t.MountDir)
	if data == "" || data == mount {
		return ""
	}
	rel := strings.TrimPrefix(path.Clean(data), path.Clean(mount)+"/")
	if rel == path.Clean(data) {
		return ""
	}
	return rel
}

// fileSource is one file (or folder) to upload: data, or a path on this
// machine (zstd: unpacked on the way, to at most limit bytes; what names
// it in errors).
type fileSource struct {
	data  []byte
	path  string
	zstd  bool
	limit int64
	what  string
}

// tarStream streams files as a tar archive of /berth/in (to unpack at /). A zstd file is unpacked into
// a temporary file first, since tar needs sizes up front. The error of the
// writing side arrives on the channel once the reader is drained.
func tarStream(files map[string]fileSource) (io.Reader, <-chan error) {
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := writeTar(pw, files)
		pw.CloseWithError(err)
		errc <- err
	}()
	return pr, errc
}

func writeTar(w io.Writer, files map[string]fileSource) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	tw := tar.NewWriter(bw)
	for _, d := range []string{"berth/", "berth/in/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		f := files[name]
		if f.path == "" {
			if err := tw.WriteHeader(&tar.Header{Name: "berth/in/" + name, Mode: 0o600, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			if _, err := tw.Write(f.data); err != nil {
				return err
			}
			continue
		}
		src := f.path
		if f.zstd {
			tmp, err := unzstd(f.path, f.limit, cmp.Or(f.what, "seed "+filepath.Base(f.path)))
			if err != nil {
				return err
			}
			defer os.Remove(tmp)
			src = tmp
		}
		if err := addPath(tw, src, "berth/in/"+name); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

func addPath(tw *tar.Writer, src, name string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		n := path.Join(name, filepath.ToSlash(rel))
		if d.IsDir() {
			return tw.WriteHeader(&tar.Header{Name: n + "/", Mode: 0o755, Typeflag: tar.TypeDir})
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: fi.Size(), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
}

// unzstd unpacks the zstd file p into a temporary file, refusing (and
// removing what it wrote) past limit bytes (0: DefaultSeedLimit); what
// names the seed in errors.
func unzstd(p string, limit int64, what string) (string, error) {
	if limit <= 0 {
		limit = DefaultSeedLimit
	}
	in, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer in.Close()
	zr, err := newZstdReader(in)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrSource, what, err)
	}
	defer zr.Close()
	out, err := os.CreateTemp("", "berth-seed-*")
	if err != nil {
		return "", err
	}
	n, err := io.Copy(out, io.LimitReader(zr, limit+1))
	switch {
	case windowError(what, err) != nil:
		err = windowError(what, err)
	case err != nil:
		err = fmt.Errorf("%w: %s is corrupt or truncated (zstd): %v", ErrSource, what, err)
	case n > limit:
		err = tooBigError(what, limit)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

// scrub removes secrets from helper output before it goes anywhere.
func scrub(out string, secrets ...string) string {
	for _, s := range secrets {
		if len(s) >= 3 {
			out = strings.ReplaceAll(out, s, "***")
		}
	}
	return out
}

func lastField(out, prefix string) string {
	v := ""
	for _, l := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(l), strings.TrimSpace(prefix)); ok {
			v = strings.TrimSpace(s)
		}
	}
	return v
}

func lastLines(out string, n int) string {
	var keep []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if strings.HasPrefix(l, "berth-") || strings.TrimSpace(l) == "" {
			continue
		}
		keep = append(keep, "  "+l)
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, "\n")
}
