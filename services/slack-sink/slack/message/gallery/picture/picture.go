// Package picture is the part of the message gallery (docs/messages.md)
// that its pictures share: the golden messages, the HTML page each picture
// is taken of (the message drawn by the blockkit renderer with the web
// console's message style), and the manifest that ties each picture to
// the message and the page it was taken of.
//
// Pictures are taken in headless Chromium by `make messages`
// (cmd/ghnotify/internal/messagepictures). Chromium's pixels differ from
// one version to the next, so pictures are not compared with a new
// drawing; instead the manifest records the SHA-256 of each golden
// message, of its page and of its PNG, and Check finds every picture
// that no longer matches the goldens or the renderer, without a browser.
package picture

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"

	"github.com/ghnotify/ghnotify/services/slack-sink/slack/blockkit"
	"github.com/ghnotify/ghnotify/services/slack-sink/webconsole"
)

// Subdirectories of the golden files, and of the pictures.
var Subdirs = []string{"fixtures", "cases"}

// Golden is one golden file of the message package: the Slack message a
// case renders to, and what the gallery says about it.
type Golden struct {
	Case    string          `json:"case"`
	Kind    string          `json:"kind"`
	Layout  string          `json:"layout"`
	Source  string          `json:"source"`
	Message json.RawMessage `json:"message"`
	// Dir is the subdirectory the file is in: fixtures or cases.
	Dir string `json:"-"`
}

// Key names the golden's picture: <dir>/<case>, its path under the
// pictures directory without .png, and its key in the manifest.
func (g Golden) Key() string { return g.Dir + "/" + g.Case }

// ReadGoldens reads every golden file under dir/fixtures and dir/cases.
func ReadGoldens(dir string) ([]Golden, error) {
	var out []Golden
	for _, sub := range Subdirs {
		files, err := filepath.Glob(filepath.Join(dir, sub, "*.json"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("reading golden file: %w", err)
			}
			var g Golden
			if err := json.Unmarshal(b, &g); err != nil {
				return nil, fmt.Errorf("decoding golden file %s: %w", f, err)
			}
			if g.Case == "" || filepath.Base(g.Case) != g.Case || g.Case[0] == '.' {
				return nil, fmt.Errorf("golden file %s: case %q cannot name a picture", f, g.Case)
			}
			g.Dir = sub
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no golden files under %s", dir)
	}
	return out, nil
}

// Width is the width of every picture, in CSS pixels (and in PNG pixels:
// pictures are taken at a device scale factor of 1).
const Width = 600

// Selector is the element of the page a picture shows.
const Selector = "#message"

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ghnotify message</title>
<style>
{{.CSS}}
body { margin: 0; background: #fff; }
#message { width: {{.Width}}px; max-width: none; box-sizing: border-box; }
</style></head>
<body><div class="slack" id="message"><div class="slack-avatar" aria-hidden="true">gh</div><div class="slack-body"><div class="slack-meta"><b>ghnotify</b> <span class="slack-app">APP</span></div>{{.Message}}</div></div></body></html>
`))

// Page returns the HTML page a picture of msg (Slack's message JSON) is
// taken of: the message as the blockkit renderer draws it, in the web
// console's frame of a Slack message and with its message style. It
// loads nothing: the style is inline, and the renderer draws no image.
func Page(msg []byte) ([]byte, error) {
	drawn, err := blockkit.Render(msg)
	if err != nil {
		return nil, fmt.Errorf("drawing message: %w", err)
	}
	var b bytes.Buffer
	err = page.Execute(&b, struct {
		CSS     template.CSS
		Width   int
		Message template.HTML
	}{template.CSS(webconsole.MessageCSS()), Width, drawn})
	if err != nil {
		return nil, fmt.Errorf("writing page: %w", err)
	}
	return b.Bytes(), nil
}

// Entry is what the manifest records of one picture: the SHA-256 (hex) of
// the golden message (its JSON, compacted), of the page the picture was
// taken of, and of the PNG.
type Entry struct {
	Message string `json:"message_sha256"`
	Page    string `json:"html_sha256"`
	PNG     string `json:"png_sha256"`
}

// Manifest is docs/messages/manifest.json.
type Manifest struct {
	About    string           `json:"about"`
	Browser  string           `json:"browser"`
	Width    int              `json:"width"`
	Pictures map[string]Entry `json:"pictures"`
}

// ManifestFile is the manifest's name in the pictures directory.
const ManifestFile = "manifest.json"

const about = "Pictures of the messages in docs/messages.md, written by `make messages`. " +
	"For each golden message (<dir>/<case>): the SHA-256 of its Block Kit JSON (compacted), " +
	"of the HTML page its picture was taken of, and of the PNG. The gallery's test fails " +
	"when these no longer match the golden files and the renderer."

// Expect returns the page a golden's picture is taken of, and the entry
// the manifest must hold for it (without the PNG's hash).
func Expect(g Golden) (Entry, []byte, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, g.Message); err != nil {
		return Entry{}, nil, fmt.Errorf("reading message of %s: %w", g.Key(), err)
	}
	p, err := Page(g.Message)
	if err != nil {
		return Entry{}, nil, fmt.Errorf("%s: %w", g.Key(), err)
	}
	return Entry{Message: digest(compact.Bytes()), Page: digest(p)}, p, nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Path returns where the picture of the golden with the given key is,
// under the pictures directory dir.
func Path(dir, key string) string {
	return filepath.Join(dir, filepath.FromSlash(key)+".png")
}

// ReadManifest reads dir's manifest.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return m, fmt.Errorf("reading picture manifest: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("decoding picture manifest %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return m, nil
}
