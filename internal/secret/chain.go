package secret

import "slices"

// Chain is a store made of others: values are written to the first and
// read from the first that has them, so a value set before the OS
// keyring answered (in the file store) is still found.
type Chain []Store

// Get returns the first store's value that is set.
func (c Chain) Get(r Ref) (string, bool, error) {
	for _, s := range c {
		v, ok, err := s.Get(r)
		if err != nil || ok {
			return v, ok, err
		}
	}
	return "", false, nil
}

// Set writes to the first store and removes r from the others, so that
// a stale value cannot come back once the first is gone.
func (c Chain) Set(r Ref, value string) error {
	if err := c[0].Set(r, value); err != nil {
		return err
	}
	for _, s := range c[1:] {
		if _, err := s.Delete(r); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes r from every store.
func (c Chain) Delete(r Ref) (bool, error) {
	found := false
	for _, s := range c {
		ok, err := s.Delete(r)
		if err != nil {
			return found, err
		}
		found = found || ok
	}
	return found, nil
}

// List returns the refs of every store, once each.
func (c Chain) List() ([]Ref, error) {
	var out []Ref
	for _, s := range c {
		refs, err := s.List()
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	SortRefs(out)
	return out, nil
}

// Where is the first store's place.
func (c Chain) Where() string { return c[0].Where() }
