package root

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/berthdev/berth/internal/keyring"
	"github.com/berthdev/berth/internal/secret"
)

// secretStore is the secret store, chosen on first use: the OS keyring
// when one answers on the session bus (values set earlier in the file
// store are still read), else the encrypted file in the state folder.
// BERTH_SECRET_STORE=file or keyring forces one (keyring then fails when
// none answers).
type secretStore struct {
	dataDir string
	dirErr  error
	getenv  func(string) string

	once  sync.Once
	store secret.Store
	err   error
}

func (s *secretStore) get() (secret.Store, error) {
	s.once.Do(func() {
		if s.dirErr != nil {
			s.err = fmt.Errorf("no place for secrets: %w", s.dirErr)
			return
		}
		file := secret.NewFileStore(s.dataDir)
		want := s.getenv("BERTH_SECRET_STORE")
		switch want {
		case "", "auto", "keyring":
		case "file":
			s.store = file
			return
		default:
			s.err = fmt.Errorf("BERTH_SECRET_STORE=%q: want file, keyring or auto", want)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		k, err := keyring.Open(ctx, s.getenv)
		switch {
		case err == nil:
			s.store = secret.Chain{k, file}
		case want == "keyring":
			s.err = fmt.Errorf("BERTH_SECRET_STORE=keyring: %w", err)
		case errors.Is(err, keyring.ErrUnavailable):
			s.store = file
		default:
			s.err = err
		}
	})
	return s.store, s.err
}

// lazySecrets is secret.Store over secretStore.get.
type lazySecrets struct{ s *secretStore }

func (l lazySecrets) Get(r secret.Ref) (string, bool, error) {
	st, err := l.s.get()
	if err != nil {
		return "", false, err
	}
	return st.Get(r)
}

func (l lazySecrets) Set(r secret.Ref, v string) error {
	st, err := l.s.get()
	if err != nil {
		return err
	}
	return st.Set(r, v)
}

func (l lazySecrets) Delete(r secret.Ref) (bool, error) {
	st, err := l.s.get()
	if err != nil {
		return false, err
	}
	return st.Delete(r)
}

func (l lazySecrets) List() ([]secret.Ref, error) {
	st, err := l.s.get()
	if err != nil {
		return nil, err
	}
	return st.List()
}

func (l lazySecrets) Where() string {
	st, err := l.s.get()
	if err != nil {
		return "unavailable: " + err.Error()
	}
	return st.Where()
}
