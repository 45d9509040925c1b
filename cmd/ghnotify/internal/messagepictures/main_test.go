package main

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"testing"
)

func TestBrowserName(t *testing.T) {
	for _, tc := range []struct{ ua, want string }{
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", "HeadlessChrome 156"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome 131"},
		{"SomethingElse/1.0", "SomethingElse/1.0"},
	} {
		if got := browserName(tc.ua); got != tc.want {
			t.Errorf("browserName(%q) = %q, want %q", tc.ua, got, tc.want)
		}
	}
}

func TestRecompress(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 120, 40))
	for x := 0; x < 120; x++ {
		img.Set(x, x%40, color.RGBA{R: uint8(x), G: 100, B: 200, A: 255})
	}
	var loose bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&loose, img); err != nil {
		t.Fatal(err)
	}
	tight, err := recompress(loose.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(tight) >= loose.Len() {
		t.Errorf("recompressed to %d bytes from %d", len(tight), loose.Len())
	}
	back, err := png.Decode(bytes.NewReader(tight))
	if err != nil {
		t.Fatal(err)
	}
	for x := 0; x < 120; x++ {
		for y := 0; y < 40; y++ {
			r1, g1, b1, a1 := img.At(x, y).RGBA()
			r2, g2, b2, a2 := back.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				t.Fatalf("pixel %d,%d changed", x, y)
			}
		}
	}
	if _, err := recompress([]byte("not a png")); err == nil {
		t.Error("no error for a PNG that is not one")
	}
}

func TestRunWithoutChromium(t *testing.T) {
	t.Setenv("CHROMIUM", "")
	t.Setenv("PATH", t.TempDir())
	err := run(context.Background(), config{goldens: t.TempDir(), out: t.TempDir()})
	if !errors.Is(err, errNoChromium) {
		t.Errorf("run without a browser: %v", err)
	}
}
