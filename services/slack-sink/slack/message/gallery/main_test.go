package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/services/slack-sink/slack/message/gallery/picture"
	"github.com/ghnotify/ghnotify/shared/corpus"
)

var goldenDir = filepath.Join("..", "testdata", "golden")

// TestGalleryIsCurrent fails when docs/messages.md differs from what the
// command generates from the golden files and the pictures.
func TestGalleryIsCurrent(t *testing.T) {
	docs := filepath.Join(corpus.RepoRoot(t), "docs")
	got, err := generate(goldenDir, filepath.Join(docs, "messages"), "messages")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(docs, "messages.md")
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (run make messages): %v", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date: run make messages (or, for the text alone, go run ./services/slack-sink/slack/message/gallery) from the repository's root", path)
	}
}

// TestPicturesAreCurrent fails when a golden message has no picture, or
// its picture was taken of another message or drawing than the golden
// files and the renderer give now (by the manifest: pictures are not
// compared pixel by pixel, as Chromium's pixels change between versions).
// It needs no browser.
func TestPicturesAreCurrent(t *testing.T) {
	gs, err := picture.ReadGoldens(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(corpus.RepoRoot(t), "docs", "messages")
	problems, err := picture.Check(dir, gs)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		const shown = 20
		more := ""
		if len(problems) > shown {
			more = fmt.Sprintf("\n... and %d more", len(problems)-shown)
			problems = problems[:shown]
		}
		t.Errorf("the pictures in %s are out of date: run make messages from the repository's root (it needs chromium: make chromium, as root):\n%s%s",
			dir, strings.Join(problems, "\n"), more)
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
	pictures := t.TempDir()
	if err := os.MkdirAll(filepath.Join(pictures, "fixtures"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pictures, "fixtures", "a.opened.png"), []byte("a picture"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := generate(dir, pictures, "pics")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(got)
	for _, want := range []string{"### a.opened", "### b.edge", "<!-- picture: fixtures/a.opened -->\n\n![a.opened as Slack shows it](pics/fixtures/a.opened.png)\n",
		"<!-- picture: cases/b.edge -->\n\nNotification:", "**[#1 T&amp;t](https://x.example/1)**",
		"│ quoted", "`<@U0ALICE01>`", "`` has `tick ``", "- [a](#a) (1)", "- [generic](#generic) (1)", "Kind `b.x`, written in the tests"} {
		if !strings.Contains(doc, want) {
			t.Errorf("gallery lacks %q:\n%s", want, doc)
		}
	}
	if strings.Contains(doc, "b.edge.png") {
		t.Errorf("gallery shows a picture that is not there:\n%s", doc)
	}
	if _, err := generate(t.TempDir(), pictures, "pics"); err == nil {
		t.Error("no golden files, no error")
	}
}
