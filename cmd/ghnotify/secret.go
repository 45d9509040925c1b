package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/rs/zerolog"
)

// SecretFileName is the name of the generated webhook secret inside the data
// directory.
const SecretFileName = "webhook-secret"

// secretBytes is the entropy of a generated secret: 256 bits.
const secretBytes = 32

// SecretFilePath returns where `ghnotify run` keeps its generated webhook
// secret for a data directory.
func SecretFilePath(dataDir string) string {
	return filepath.Join(dataDir, SecretFileName)
}

// LoadOrCreateSecret returns the webhook secret stored at path, creating the
// file with a fresh random secret (mode 0600, directory 0700) when it does
// not exist yet. created reports whether this call generated it. A file
// readable by others than its owner is tightened to 0600 and reported in
// tightened.
func LoadOrCreateSecret(path string) (secret config.Secret, created, tightened bool, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, false, fmt.Errorf("creating secret directory: %w", err)
	}
	buf := make([]byte, secretBytes)
	if _, err := rand.Read(buf); err != nil {
		return "", false, false, fmt.Errorf("generating webhook secret: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		_, werr := f.WriteString(hex.EncodeToString(buf) + "\n")
		cerr := f.Close()
		if werr = errors.Join(werr, cerr); werr != nil {
			_ = os.Remove(path)
			return "", false, false, fmt.Errorf("writing webhook secret file %s: %w", path, werr)
		}
		return config.Secret(hex.EncodeToString(buf)), true, false, nil
	case errors.Is(err, fs.ErrExist):
		tightened, err := tightenMode(path)
		if err != nil {
			return "", false, false, err
		}
		secret, err := readSecretFile(path)
		return secret, false, tightened, err
	default:
		return "", false, false, fmt.Errorf("creating webhook secret file %s: %w", path, err)
	}
}

// tightenDataDir restricts an existing data directory to its owner (0700)
// when group or others may enter or read it: it holds the webhook secret
// and the JetStream store, every delivery included. A directory that does
// not exist yet is left alone; it is created 0700.
func tightenDataDir(dir string, log zerolog.Logger) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("checking data directory: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("data directory %s is not a directory", dir)
	case fi.Mode().Perm()&0o077 == 0:
		return nil
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("restricting data directory %s to its owner: %w", dir, err)
	}
	log.Warn().Str("dir", dir).Str("was", fmt.Sprintf("%#o", fi.Mode().Perm())).
		Msg("data directory was open to others; restricted it to its owner (0700)")
	return nil
}

// tightenMode restricts the file at path to its owner (0600) when group or
// others may read it, reporting whether it changed anything.
func tightenMode(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("checking webhook secret file: %w", err)
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return false, nil
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return false, fmt.Errorf("restricting webhook secret file %s to its owner: %w", path, err)
	}
	return true, nil
}

// readSecretFile reads the secret held in a webhook secret file.
func readSecretFile(path string) (config.Secret, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading webhook secret file: %w", err)
	}
	s, err := parseSecret(b)
	if err != nil {
		return "", fmt.Errorf("reading webhook secret file %s: %w", path, err)
	}
	return s, nil
}

// parseSecret returns the secret a secret file signs with: its first line
// that is neither blank nor a '#' comment, without surrounding white space.
// The gateway reads GITHUB_WEBHOOK_SECRET_FILE the same way (and accepts
// every such line).
func parseSecret(b []byte) (config.Secret, error) {
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			return config.Secret(line), nil
		}
	}
	return "", errors.New("the file holds no secret")
}
