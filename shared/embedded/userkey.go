package embedded

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// UserKey is the NKey user the clients of the embedded server authenticate
// as. The server knows only its public key; a client proves it holds the
// seed by signing the server's nonce, so the seed never crosses the wire.
// The seed is kept in a file readable by its owner only, which the nats CLI
// reads too (its contexts' "nkey" field).
type UserKey struct {
	path   string
	public string
	seed   []byte
}

// LoadOrCreateUserKey returns the NKey user whose seed is stored at path,
// creating the file with a fresh user seed (mode 0600, directory 0700) when
// it does not exist yet. created reports whether this call generated it. A
// file readable by others than its owner is restricted to 0600 and reported
// in tightened. Errors never carry the seed.
func LoadOrCreateUserKey(path string) (key *UserKey, created, tightened bool, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, false, fmt.Errorf("creating nats key directory: %w", err)
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return nil, false, false, fmt.Errorf("generating nats user key: %w", err)
	}
	defer kp.Wipe()
	seed, err := kp.Seed()
	if err != nil {
		return nil, false, false, fmt.Errorf("generating nats user key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		_, werr := f.Write(append(append([]byte(nil), seed...), '\n'))
		cerr := f.Close()
		if werr = errors.Join(werr, cerr); werr != nil {
			_ = os.Remove(path)
			return nil, false, false, fmt.Errorf("writing nats key file %s: %w", path, werr)
		}
		k, err := userKeyFromSeed(path, seed)
		return k, true, false, err
	case errors.Is(err, fs.ErrExist):
		tightened, err := restrictToOwner(path)
		if err != nil {
			return nil, false, false, err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, false, false, fmt.Errorf("reading nats key file: %w", err)
		}
		k, err := userKeyFromSeed(path, b)
		return k, false, tightened, err
	default:
		return nil, false, false, fmt.Errorf("creating nats key file %s: %w", path, err)
	}
}

// userKeyFromSeed parses a user seed (plain or in a decorated block).
func userKeyFromSeed(path string, b []byte) (*UserKey, error) {
	kp, err := nkeys.ParseDecoratedNKey(b)
	if err != nil {
		// nkeys' errors do not quote the input.
		return nil, fmt.Errorf("reading nats key file %s: %w", path, err)
	}
	defer kp.Wipe()
	public, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("reading nats key file %s: %w", path, err)
	}
	if !nkeys.IsValidPublicUserKey(public) {
		return nil, fmt.Errorf("reading nats key file %s: not an nkey user seed (it must start with SU)", path)
	}
	seed, err := kp.Seed()
	if err != nil {
		return nil, fmt.Errorf("reading nats key file %s: %w", path, err)
	}
	return &UserKey{path: path, public: public, seed: append([]byte(nil), seed...)}, nil
}

// restrictToOwner sets the file at path to 0600 when group or others may
// read it, reporting whether it changed anything.
func restrictToOwner(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("checking nats key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return false, nil
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return false, fmt.Errorf("restricting nats key file %s to its owner: %w", path, err)
	}
	return true, nil
}

// PublicKey is the user's public key (U...), which the server admits.
func (k *UserKey) PublicKey() string { return k.public }

// SeedFile is the path of the file holding the seed.
func (k *UserKey) SeedFile() string { return k.path }

// String shows the public key only.
func (k *UserKey) String() string { return k.public }

// Option authenticates a nats.go connection as this user.
func (k *UserKey) Option() nats.Option {
	return nats.Nkey(k.public, func(nonce []byte) ([]byte, error) {
		kp, err := nkeys.FromSeed(k.seed)
		if err != nil {
			return nil, fmt.Errorf("signing nats nonce: %w", err)
		}
		defer kp.Wipe()
		return kp.Sign(nonce)
	})
}
