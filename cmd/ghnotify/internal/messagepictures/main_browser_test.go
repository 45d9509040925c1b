//go:build browser

package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/cmd/ghnotify/internal/chromium"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack/message/gallery/picture"
)

// TestTakesPictures takes the pictures of two golden messages in headless
// Chromium and checks them: each is current by the gallery's manifest
// check, as wide as the gallery's pictures, as tall as its message, and
// shows the message's text, link and emoji colours.
func TestTakesPictures(t *testing.T) {
	exe := chromium.Path()
	if exe == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no chromium found, but CI is set: `make chromium` (as root) should have installed Debian's chromium package")
		}
		t.Skip("SKIPPED: no chromium found (install it with `make chromium` as root, or set CHROMIUM); the picture test did not run")
	}
	goldens, out := t.TempDir(), t.TempDir()
	write := func(sub, name, msg string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(goldens, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		body := `{"case":"` + name + `","kind":"x.y","layout":"x","source":"synthetic","message":` + msg + `}`
		if err := os.WriteFile(filepath.Join(goldens, sub, name+".json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("fixtures", "short", `{"text":"t","blocks":[{"type":"header","text":{"type":"plain_text","text":":large_green_circle: Issue opened by @octocat"}},`+
		`{"type":"section","text":{"type":"mrkdwn","text":"*<https://github.com/acme/widgets/issues/7|#7 Widgets>*"}}]}`)
	write("cases", "long", `{"text":"t","blocks":[{"type":"header","text":{"type":"plain_text","text":"Long"}},`+
		`{"type":"section","text":{"type":"mrkdwn","text":"`+strings.Repeat("A very long body. ", 300)+`"}}]}`)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, config{goldens: goldens, out: out, chromium: exe}); err != nil {
		t.Fatal(err)
	}
	gs, err := picture.ReadGoldens(goldens)
	if err != nil {
		t.Fatal(err)
	}
	problems, err := picture.Check(out, gs)
	if err != nil || len(problems) != 0 {
		t.Fatalf("the pictures just taken are not current: %q, %v", problems, err)
	}
	m, err := picture.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Browser, "Chrome") {
		t.Errorf("manifest names the browser %q", m.Browser)
	}

	read := func(key string) image.Image {
		t.Helper()
		b, err := os.ReadFile(picture.Path(out, key))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if w := img.Bounds().Dx(); w != picture.Width {
			t.Errorf("%s is %d pixels wide, want %d", key, w, picture.Width)
		}
		return img
	}
	short, long := read("fixtures/short"), read("cases/long")
	if hs, hl := short.Bounds().Dy(), long.Bounds().Dy(); hs < 60 || hl < 3*hs {
		t.Errorf("heights: short message %d pixels, long one %d", hs, hl)
	}
	// The short message shows dark text, a blue link and a green emoji.
	var dark, blue, green bool
	b := short.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := short.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			dark = dark || (r < 60 && g < 60 && bl < 60)
			blue = blue || (bl > 130 && bl > r+80 && bl > g+30)
			green = green || (g > 150 && r < 140 && bl < 140)
		}
	}
	if !dark || !blue || !green {
		t.Errorf("the short message's picture: dark text %v, blue link %v, green emoji %v", dark, blue, green)
	}
}
