package corpus

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRepoRootHoldsGoWork(t *testing.T) {
	t.Parallel()
	root := RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("RepoRoot %s has no go.work: %v", root, err)
	}
}

func TestEntriesListReadablePayloads(t *testing.T) {
	t.Parallel()
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

// recorder is a testing.TB that records how a test ended instead of ending
// the calling test.
type recorder struct {
	testing.TB
	failed, skipped bool
}

type stopped struct{}

func (r *recorder) Helper()               {}
func (r *recorder) Fatalf(string, ...any) { r.failed = true; panic(stopped{}) }
func (r *recorder) Skip(...any)           { r.skipped = true; panic(stopped{}) }

func runSettle(ci bool, rep *reporter) (r *recorder, dir string) {
	r = &recorder{}
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(stopped); !ok {
				panic(p)
			}
		}
	}()
	dir = settle(r, "", errors.New("payload corpus not present at /nowhere"), ci, rep)
	return r, dir
}

// TestAbsentCorpus checks that an absent corpus skips with one line of
// report for the whole test binary, and fails when CI is set.
func TestAbsentCorpus(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	rep := &reporter{w: &out}
	for range 3 {
		r, _ := runSettle(false, rep)
		if !r.skipped || r.failed {
			t.Fatalf("without CI: skipped %v failed %v, want a skip", r.skipped, r.failed)
		}
	}
	if n := strings.Count(out.String(), "\n"); n != 1 || !strings.Contains(out.String(), "/nowhere") {
		t.Errorf("report %q: want one line naming the missing directory", out.String())
	}
	r, _ := runSettle(true, rep)
	if !r.failed || r.skipped {
		t.Fatalf("with CI: skipped %v failed %v, want a failure", r.skipped, r.failed)
	}
}

func TestLocateNamesTheMissingDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := locate(); err == nil || !strings.Contains(err.Error(), "go.work") {
		t.Fatalf("locate outside a workspace: %v, want an error about go.work", err)
	}
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.work"), []byte("go 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	_, err := locate()
	if err == nil || !strings.Contains(err.Error(), filepath.Join(filepath.Dir(root), "shared", "testdata", "github-webhooks")) {
		t.Fatalf("locate without a corpus: %v, want an error naming the corpus directory", err)
	}
}
