package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Scopes of a stored secret: one definition (every environment made from
// it) or one environment (it wins over its definition's).
const (
	ScopeDefinition  = "definition"
	ScopeEnvironment = "environment"
)

// Ref names one stored secret.
type Ref struct {
	Scope string `json:"scope"`
	// Owner is the definition's or the environment's name.
	Owner string `json:"owner"`
	// Name is the secret's name, as berth.yaml declares it.
	Name string `json:"name"`
}

func (r Ref) String() string { return r.Scope + " " + r.Owner + " " + r.Name }

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidName checks a secret's name: a variable name (letters, digits and
// '_', not starting with a digit), since it is interpolated as one.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("secret name %q: use letters, digits and '_', not starting with a digit", name)
	}
	return nil
}

// Check validates r before it names anything in a store.
func (r Ref) Check() error {
	if r.Scope != ScopeDefinition && r.Scope != ScopeEnvironment {
		return fmt.Errorf("secret scope %q: want %s or %s", r.Scope, ScopeDefinition, ScopeEnvironment)
	}
	if r.Owner == "" || strings.ContainsAny(r.Owner, "\x00/\\") {
		return fmt.Errorf("secret owner %q: want a definition or environment name", r.Owner)
	}
	return ValidName(r.Name)
}

// Store keeps secret values.
type Store interface {
	// Get returns the value r names and whether it is set.
	Get(r Ref) (string, bool, error)
	// Set stores value under r, replacing what was there.
	Set(r Ref, value string) error
	// Delete removes r; it reports whether it was set.
	Delete(r Ref) (bool, error)
	// List returns every stored ref, without values.
	List() ([]Ref, error)
	// Where says where values are kept, for `berth secret ls`.
	Where() string
}

// MaxValue is the largest value a store takes (64 KiB: a certificate or a
// key file fits, a database dump does not).
const MaxValue = 64 << 10

// FileStore keeps secrets in one file encrypted with AES-256-GCM under a
// key of its own, both mode 0600 in Berth's state folder. It is the store
// used where no OS keyring answers. Changes are written aside and renamed
// into place under an exclusive lock, so concurrent processes never see
// half a file nor lose each other's changes.
type FileStore struct {
	dir string
}

// File names in the state folder.
const (
	fileName    = "secrets.enc"
	fileKeyName = "secrets.key"
	fileLock    = "secrets.lock"
)

// NewFileStore returns the file store in dir (created 0700 on first
// write).
func NewFileStore(dir string) *FileStore { return &FileStore{dir: dir} }

// Where says where the file is.
func (s *FileStore) Where() string {
	return "encrypted file " + filepath.Join(s.dir, fileName) + " (key in " + fileKeyName + " beside it)"
}

type fileEntry struct {
	Ref
	Value string `json:"value"`
}

func (s *FileStore) key(create bool) ([]byte, error) {
	p := filepath.Join(s.dir, fileKeyName)
	b, err := os.ReadFile(p)
	if err == nil {
		if len(b) != 32 {
			return nil, fmt.Errorf("secret store key %s: %d bytes, want 32", p, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) || !create {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("secret store key: %w", err)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("secret store: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("secret store key: %w", err)
	}
	if _, err := f.Write(k); err != nil {
		f.Close()
		return nil, fmt.Errorf("secret store key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("secret store key: %w", err)
	}
	return k, nil
}

func (s *FileStore) read() ([]fileEntry, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, fileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secret store: %w", err)
	}
	key, err := s.key(false)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return nil, fmt.Errorf("secret store %s: its key %s is missing; the values cannot be read", filepath.Join(s.dir, fileName), fileKeyName)
	}
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(data) < gcm.NonceSize() {
		return nil, fmt.Errorf("secret store %s: too short to be one", filepath.Join(s.dir, fileName))
	}
	plain, err := gcm.Open(nil, data[:gcm.NonceSize()], data[gcm.NonceSize():], []byte(fileName))
	if err != nil {
		return nil, fmt.Errorf("secret store %s: cannot be decrypted with its key (changed or damaged)", filepath.Join(s.dir, fileName))
	}
	var out []fileEntry
	if err := json.Unmarshal(plain, &out); err != nil {
		return nil, fmt.Errorf("secret store %s: %w", filepath.Join(s.dir, fileName), err)
	}
	return out, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (s *FileStore) write(entries []fileEntry) error {
	key, err := s.key(true)
	if err != nil {
		return err
	}
	gcm, err := newGCM(key)
	if err != nil {
		return err
	}
	plain, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := gcm.Seal(nonce, nonce, plain, []byte(fileName))
	clear(plain)
	p := filepath.Join(s.dir, fileName)
	tmp, err := os.CreateTemp(s.dir, fileName+".*.tmp")
	if err != nil {
		return fmt.Errorf("secret store: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("secret store: %w", err)
	}
	if _, err := tmp.Write(sealed); err != nil {
		tmp.Close()
		return fmt.Errorf("secret store: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("secret store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("secret store: %w", err)
	}
	return os.Rename(tmp.Name(), p)
}

// change runs fn on the entries under the store's lock and writes what it
// returns.
func (s *FileStore) change(fn func([]fileEntry) ([]fileEntry, error)) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("secret store: %w", err)
	}
	unlock, err := lockFile(filepath.Join(s.dir, fileLock))
	if err != nil {
		return fmt.Errorf("secret store: %w", err)
	}
	defer unlock()
	entries, err := s.read()
	if err != nil {
		return err
	}
	entries, err = fn(entries)
	if err != nil {
		return err
	}
	return s.write(entries)
}

// Get returns r's value.
func (s *FileStore) Get(r Ref) (string, bool, error) {
	if err := r.Check(); err != nil {
		return "", false, err
	}
	entries, err := s.read()
	if err != nil {
		return "", false, err
	}
	for _, e := range entries {
		if e.Ref == r {
			return e.Value, true, nil
		}
	}
	return "", false, nil
}

// Set stores value under r.
func (s *FileStore) Set(r Ref, value string) error {
	if err := r.Check(); err != nil {
		return err
	}
	if len(value) > MaxValue {
		return fmt.Errorf("secret %s: %d bytes, more than the %d a secret may hold", r.Name, len(value), MaxValue)
	}
	return s.change(func(es []fileEntry) ([]fileEntry, error) {
		es = slices.DeleteFunc(es, func(e fileEntry) bool { return e.Ref == r })
		return append(es, fileEntry{Ref: r, Value: value}), nil
	})
}

// Delete removes r.
func (s *FileStore) Delete(r Ref) (bool, error) {
	if err := r.Check(); err != nil {
		return false, err
	}
	found := false
	err := s.change(func(es []fileEntry) ([]fileEntry, error) {
		n := len(es)
		es = slices.DeleteFunc(es, func(e fileEntry) bool { return e.Ref == r })
		found = len(es) != n
		return es, nil
	})
	return found, err
}

// List returns the stored refs, sorted.
func (s *FileStore) List() ([]Ref, error) {
	entries, err := s.read()
	if err != nil {
		return nil, err
	}
	out := make([]Ref, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Ref)
	}
	SortRefs(out)
	return out, nil
}

// SortRefs sorts refs by owner, scope and name.
func SortRefs(refs []Ref) {
	slices.SortFunc(refs, func(a, b Ref) int {
		return strings.Compare(a.Owner+"\x00"+a.Scope+"\x00"+a.Name, b.Owner+"\x00"+b.Scope+"\x00"+b.Name)
	})
}
