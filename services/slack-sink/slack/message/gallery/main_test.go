package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/shared/corpus"
)

// TestGalleryIsCurrent fails when docs/messages.md differs from what the
// command generates from the golden files.
func TestGalleryIsCurrent(t *testing.T) {
	got, err := generate(filepath.Join("..", "testdata", "golden"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(corpus.RepoRoot(t), "docs", "messages.md")
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (run go run ./services/slack-sink/slack/message/gallery): %v", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date: run go run ./services/slack-sink/slack/message/gallery from the repository's root", path)
	}
}

func TestGalleryShowsEveryGolden(t *testing.T) {
	dir := t.TempDir()
	for _, sub := range []string{"fixtures", "cases"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, body string) {
		if err := os.WriteFile(filepath.Join(dir, path), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("fixtures/a.opened.json", `{"case":"a.opened","kind":"a.opened","layout":"a","source":"a/opened.json","message":{"text":"[r] A opened","blocks":[{"type":"header","text":{"type":"plain_text","text":"A opened"}},{"type":"section","text":{"type":"mrkdwn","text":"*<https://x.example/1|#1 T&amp;t>*\n> quoted"}},{"type":"context","elements":[{"type":"mrkdwn","text":"<@U0ALICE01>"}]}]}}`)
	write("cases/b.edge.json", `{"case":"b.edge","kind":"b.x","layout":"generic","source":"synthetic","message":{"text":"has `+"`"+`tick","blocks":[]}}`)
	got, err := generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(got)
	for _, want := range []string{"### a.opened", "### b.edge", "<!-- picture: fixtures/a.opened -->", "**[#1 T&amp;t](https://x.example/1)**",
		"│ quoted", "`<@U0ALICE01>`", "`` has `tick ``", "- [a](#a) (1)", "- [generic](#generic) (1)", "Kind `b.x`, written in the tests"} {
		if !strings.Contains(doc, want) {
			t.Errorf("gallery lacks %q:\n%s", want, doc)
		}
	}
	if _, err := generate(t.TempDir()); err == nil {
		t.Error("no golden files, no error")
	}
}
