// Package corpus finds, for tests, the repository's root and the corpus of
// example GitHub webhook payloads kept beside the checkout, in
// ../shared/testdata/github-webhooks. Tests that use the corpus skip cleanly
// where it is absent.
package corpus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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

// Dir returns the payload corpus directory, or skips the test when the
// corpus is not there.
func Dir(t testing.TB) string {
	t.Helper()
	root, ok := findRoot()
	if !ok {
		t.Skip("no go.work above the test's directory; the payload corpus cannot be located")
	}
	dir := filepath.Join(root, "..", "shared", "testdata", "github-webhooks")
	if _, err := os.Stat(filepath.Join(dir, "INDEX.tsv")); err != nil {
		t.Skipf("payload corpus not present at %s", dir)
	}
	return dir
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
