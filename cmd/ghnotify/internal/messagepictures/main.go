// Command messagepictures takes the pictures of the message gallery
// (docs/messages.md): each golden message of the message package, drawn
// by the blockkit renderer with the web console's message style
// (services/slack-sink/slack/message/gallery/picture), is opened in
// headless Chromium and its message element saved as a PNG, 600 pixels
// wide, in docs/messages/<dir>/<case>.png. The manifest
// docs/messages/manifest.json records what each picture was taken of, so
// that the gallery's test can tell, without a browser, when a picture is
// out of date. Run it from the repository's root with `make messages`,
// which then writes docs/messages.md with the pictures.
//
// It needs Chromium: $CHROMIUM, else chromium, chromium-browser or
// google-chrome on PATH (`make chromium` installs Debian's, as root).
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ghnotify/ghnotify/cmd/ghnotify/internal/chromium"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack/message/gallery/picture"
)

// config is what the command is told on its command line.
type config struct {
	goldens  string // directory of the golden files (fixtures/ and cases/)
	out      string // directory of the pictures and their manifest
	chromium string // the browser; empty: found as chromiumPath does
}

func main() {
	var cfg config
	flag.StringVar(&cfg.goldens, "goldens", "services/slack-sink/slack/message/testdata/golden", "directory of the golden files (fixtures/ and cases/)")
	flag.StringVar(&cfg.out, "o", "docs/messages", "directory to write the pictures and their manifest into")
	flag.StringVar(&cfg.chromium, "chromium", "", "Chromium to run (default: $CHROMIUM, else chromium, chromium-browser or google-chrome on PATH)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "messagepictures:", err)
		os.Exit(1)
	}
}

// errNoChromium says how to get a browser.
var errNoChromium = errors.New("no chromium found: install it with `make chromium` (as root), or set CHROMIUM")

func run(ctx context.Context, cfg config) error {
	exe := cfg.chromium
	if exe == "" {
		exe = chromium.Path()
	}
	if exe == "" {
		return errNoChromium
	}
	gs, err := picture.ReadGoldens(cfg.goldens)
	if err != nil {
		return err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // root in containers
		chromedp.WindowSize(picture.Width+200, 800),
		chromedp.Flag("force-device-scale-factor", "1"),
		chromedp.Flag("hide-scrollbars", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// The first call starts the browser, and must not have a timeout.
	if err := chromedp.Do(bctx); err != nil {
		return fmt.Errorf("starting %s: %w", exe, err)
	}
	ua, err := chromedp.Run(bctx, chromedp.Evaluate[string](`navigator.userAgent`))
	if err != nil {
		return fmt.Errorf("asking the browser its version: %w", err)
	}
	shots := make([]picture.Shot, 0, len(gs))
	for _, g := range gs {
		entry, page, err := picture.Expect(g)
		if err != nil {
			return err
		}
		img, err := take(bctx, page)
		if err != nil {
			return fmt.Errorf("taking the picture of %s: %w", g.Key(), err)
		}
		shots = append(shots, picture.Shot{Golden: g, Entry: entry, PNG: img})
	}
	if err := picture.Save(cfg.out, browserName(ua), shots); err != nil {
		return err
	}
	fmt.Printf("%d pictures in %s, taken with %s\n", len(shots), cfg.out, browserName(ua))
	return nil
}

// take opens page in the browser and returns a PNG of its message
// element, once the page's fonts are ready.
func take(bctx context.Context, page []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate("data:text/html;base64,"+base64.StdEncoding.EncodeToString(page)),
		chromedp.WaitVisible(chromedp.CSS(picture.Selector)),
	); err != nil {
		return nil, err
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.fonts.ready.then(() => true)`, chromedp.EvalAwaitPromise)); err != nil {
		return nil, fmt.Errorf("waiting for the fonts: %w", err)
	}
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(picture.Selector)))
	if err != nil {
		return nil, err
	}
	return recompress(shot)
}

// recompress encodes a PNG again with the best compression: Chromium
// favours speed, and the pictures are kept in the repository.
func recompress(b []byte) ([]byte, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("reading the browser's PNG: %w", err)
	}
	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&out, img); err != nil {
		return nil, fmt.Errorf("compressing PNG: %w", err)
	}
	if out.Len() >= len(b) {
		return b, nil
	}
	return out.Bytes(), nil
}

var chromeVersion = regexp.MustCompile(`((?:Headless)?Chrome)/([0-9]+)`)

// browserName is the browser's name and major version from its user
// agent (which tells no more: Chromium's user agent reads 156.0.0.0).
func browserName(ua string) string {
	if m := chromeVersion.FindStringSubmatch(ua); m != nil {
		return m[1] + " " + m[2]
	}
	return ua
}
