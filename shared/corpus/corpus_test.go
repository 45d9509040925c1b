package corpus

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRepoRootHoldsGoWork(t *testing.T) {
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("RepoRoot %s has no go.work: %v", root, err)
	}
}

func TestEntriesListReadablePayloads(t *testing.T) {
	dir := Dir(t)
	entries := Entries(t, dir)
	for _, e := range entries {
		if e.Event == "" || e.File == "" {
			t.Fatalf("entry without event or file: %+v", e)
		}
		if _, err := os.Stat(filepath.Join(dir, e.File)); err != nil {
			t.Fatalf("listed payload missing: %v", err)
		}
	}
}
