package main

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/rs/zerolog"
)

func TestLoadOrCreateSecretGeneratesOnceAndReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := SecretFilePath(dir)

	first, created, tightened, err := LoadOrCreateSecret(path)
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	if !created || tightened {
		t.Fatalf("first start: created=%v tightened=%v, want true false", created, tightened)
	}
	if b, err := hex.DecodeString(first.Reveal()); err != nil || len(b) != secretBytes {
		t.Fatalf("generated secret is not %d bytes of hex: %v", secretBytes, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Fatalf("secret file mode = %o, want 600", got)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := di.Mode().Perm(); got&0o077 != 0 {
		t.Fatalf("data directory mode = %o, want no access for group and others", got)
	}

	second, created, _, err := LoadOrCreateSecret(path)
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	if created {
		t.Fatal("second start generated a new secret")
	}
	if second != first {
		t.Fatal("second start returned a different secret")
	}

	other, _, _, err := LoadOrCreateSecret(SecretFilePath(filepath.Join(t.TempDir(), "other")))
	if err != nil {
		t.Fatal(err)
	}
	if other == first {
		t.Fatal("two data directories got the same secret")
	}
}

func TestLoadOrCreateSecretExistingFiles(t *testing.T) {
	tests := []struct {
		name          string
		content       string
		mode          os.FileMode
		want          config.Secret
		wantTightened bool
		wantErr       string
	}{
		{name: "own secret", content: "s3cret\n", mode: 0o600, want: "s3cret"},
		{name: "comments and blanks", content: "# rotated in May\n\n  s3cret  \nolder\n", mode: 0o600, want: "s3cret"},
		{name: "readable by others", content: "s3cret", mode: 0o644, want: "s3cret", wantTightened: true},
		{name: "empty", content: "\n \n", mode: 0o600, wantErr: "holds no secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), SecretFileName)
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			got, created, tightened, err := LoadOrCreateSecret(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), tt.content) && strings.TrimSpace(tt.content) != "" {
					t.Fatal("error repeats the file's content")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if created || got != tt.want || tightened != tt.wantTightened {
				t.Fatalf("got (%q, created=%v, tightened=%v), want (%q, false, %v)", got.Reveal(), created, tightened, tt.want.Reveal(), tt.wantTightened)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 && tt.wantTightened {
				t.Fatalf("mode after tightening = %o, want 600", fi.Mode().Perm())
			}
		})
	}
}

func TestEnsureWebhookSecret(t *testing.T) {
	tests := []struct {
		name     string
		secrets  []config.Secret
		insecure bool
		wantFile bool
	}{
		{name: "configured secret wins", secrets: []config.Secret{"from-env"}},
		{name: "insecure mode generates nothing", insecure: true},
		{name: "no secret generates one", wantFile: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			cfg := stackConfig{DataDir: t.TempDir()}
			cfg.Gateway.Secrets = tt.secrets
			cfg.Gateway.InsecureSkipSignature = tt.insecure
			if err := ensureWebhookSecret(&cfg, zerolog.New(&logs)); err != nil {
				t.Fatal(err)
			}
			path := SecretFilePath(cfg.DataDir)
			_, statErr := os.Stat(path)
			if gotFile := statErr == nil; gotFile != tt.wantFile {
				t.Fatalf("secret file exists = %v, want %v", gotFile, tt.wantFile)
			}
			if !tt.wantFile {
				if len(cfg.Gateway.Secrets) != len(tt.secrets) {
					t.Fatalf("secrets changed to %d entries", len(cfg.Gateway.Secrets))
				}
				return
			}
			stored, err := readSecretFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Gateway.Secrets) != 1 || cfg.Gateway.Secrets[0] != stored {
				t.Fatal("the gateway was not given the stored secret")
			}
			if strings.Contains(logs.String(), stored.Reveal()) {
				t.Fatal("the secret itself was logged")
			}
			if !strings.Contains(logs.String(), path) {
				t.Fatalf("the log does not say where the secret is: %s", logs.String())
			}
		})
	}
}

// TestDataDirTightened checks that an existing data directory open to
// others is restricted to its owner at start, with a warning, and that
// `ghnotify run` does it before using the directory.
func TestDataDirTightened(t *testing.T) {
	for _, tt := range []struct {
		mode     os.FileMode
		warnings int
	}{{0o755, 1}, {0o770, 1}, {0o701, 1}, {0o700, 0}} {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, tt.mode); err != nil {
			t.Fatal(err)
		}
		var logs strings.Builder
		if err := tightenDataDir(dir, zerolog.New(&logs)); err != nil {
			t.Fatalf("mode %#o: %v", tt.mode, err)
		}
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("mode %#o became %#o, want 0700", tt.mode, fi.Mode().Perm())
		}
		if n := strings.Count(logs.String(), "restricted it to its owner"); n != tt.warnings {
			t.Errorf("mode %#o: %d warnings, want %d:\n%s", tt.mode, n, tt.warnings, logs.String())
		}
	}
	missing := filepath.Join(t.TempDir(), "absent")
	if err := tightenDataDir(missing, zerolog.Nop()); err != nil {
		t.Fatalf("a data directory not created yet: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := tightenDataDir(file, zerolog.Nop()); err == nil {
		t.Fatal("a file accepted as the data directory")
	}
}
