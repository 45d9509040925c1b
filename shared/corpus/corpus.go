// Package corpus finds, for tests, the repository's root and the corpus of
// example GitHub webhook payloads kept beside the checkout, in
// ../shared/testdata/github-webhooks. The corpus is extra coverage: every
// event kind also has fixtures of its own inside the repository, so a clone
// on its own runs a complete test suite. Where the corpus is absent, the
// tests that read it skip, and the test binary says so once on stderr; with
// the environment variable CI set, an absent corpus fails them instead.
package corpus

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// missing prints, once per test binary, the line that says the corpus is absent.
var missing = &reporter{w: os.Stderr}

// reporter writes one line, once.
type reporter struct {
	once sync.Once
	w    io.Writer
}

// RepoRoot returns the directory holding go.work, walking up from the
// test's working directory; the test fails when there is none.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, ok := findRoot()
	if !ok {
		t.Fatal("no go.work above the test's directory")
	}
	return root
}

func findRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Dir returns the payload corpus directory. When the corpus is not there,
// the test fails if the environment variable CI is set (a CI run must not
// lose coverage unnoticed) and skips otherwise.
func Dir(t testing.TB) string {
	t.Helper()
	dir, err := locate()
	_, ci := os.LookupEnv("CI")
	return settle(t, dir, err, ci, missing)
}

// settle returns dir when err is nil; otherwise it fails t (ci) or reports
// err once through rep and skips t.
func settle(t testing.TB, dir string, err error, ci bool, rep *reporter) string {
	t.Helper()
	if err == nil {
		return dir
	}
	if ci {
		t.Fatalf("%v; CI is set, so an absent corpus is an error", err)
	}
	rep.once.Do(func() {
		fmt.Fprintf(rep.w, "corpus: %v; the tests that read it are skipped (the repository's own fixtures still run)\n", err)
	})
	t.Skip("payload corpus absent")
	return ""
}

// locate returns the corpus directory, or why it is not available.
func locate() (string, error) {
	root, ok := findRoot()
	if !ok {
		return "", fmt.Errorf("no go.work above the test's directory, so the payload corpus cannot be located")
	}
	dir := filepath.Join(root, "..", "shared", "testdata", "github-webhooks")
	if _, err := os.Stat(filepath.Join(dir, "INDEX.tsv")); err != nil {
		return "", fmt.Errorf("payload corpus not present at %s", filepath.Clean(dir))
	}
	return dir, nil
}

// Entry is one payload of the corpus, as INDEX.tsv lists it.
type Entry struct {
	// Event is the X-GitHub-Event name.
	Event string
	// Action is the payload's action, empty for events without one.
	Action string
	// File is the payload's path relative to the corpus directory.
	File string
}

// Entries reads the corpus's INDEX.tsv; the test fails on a malformed line.
func Entries(t testing.TB, dir string) []Entry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "INDEX.tsv"))
	if err != nil {
		t.Fatalf("reading corpus index: %v", err)
	}
	var out []Entry
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i == 0 {
			continue // header
		}
		f := strings.Split(line, "\t")
		if len(f) < 3 {
			t.Fatalf("INDEX.tsv line %d has %d fields, want at least 3", i+1, len(f))
		}
		action := f[1]
		if action == "-" {
			action = ""
		}
		out = append(out, Entry{Event: f[0], Action: action, File: f[2]})
	}
	if len(out) == 0 {
		t.Fatal("INDEX.tsv lists no payloads")
	}
	return out
}
