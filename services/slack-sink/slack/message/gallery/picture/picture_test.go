package picture

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	msgA = `{"text":"[r] A opened","blocks":[{"type":"header","text":{"type":"plain_text","text":":rocket: A opened"}},{"type":"section","text":{"type":"mrkdwn","text":"*<https://x.example/1|#1 T&amp;t>* &lt;script&gt;alert(1)&lt;/script&gt;\n> quoted <@U0ALICE01>"}}]}`
	msgB = `{"text":"B","blocks":[{"type":"context","elements":[{"type":"mrkdwn","text":"` + "`b.x`" + `"}]}]}`
)

func TestPage(t *testing.T) {
	p, err := Page([]byte(msgA))
	if err != nil {
		t.Fatal(err)
	}
	page := string(p)
	for _, want := range []string{`<div class="slack" id="message">`, `.bk-header {`, `.slack-avatar {`, `#message { width: 600px;`,
		`<a class="bk-link" href="https://x.example/1"`, `&lt;script&gt;alert(1)&lt;/script&gt;`, `<span class="bk-mention">@U0ALICE01</span>`,
		`<blockquote class="bk-quote">`, `🚀`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	// The page loads nothing: no script, no image, no stylesheet, no font.
	for _, unwanted := range []string{"<script", "src=", "<link", "url(", "@import", "@font-face"} {
		if strings.Contains(page, unwanted) {
			t.Errorf("page has %q:\n%s", unwanted, page)
		}
	}
	if _, err := Page([]byte(`{"blocks":`)); err == nil {
		t.Error("a message that is not JSON drew a page")
	}
	q, err := Page([]byte(msgB))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(p, q) {
		t.Error("two messages, one page")
	}
}

// writeGolden writes a golden file into dir/sub.
func writeGolden(t *testing.T, dir, sub, name, msg string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
		t.Fatal(err)
	}
	body := `{"case":"` + name + `","kind":"a.opened","layout":"a","source":"synthetic","message":` + msg + "}"
	if err := os.WriteFile(filepath.Join(dir, sub, name+".json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadGoldens(t *testing.T) {
	dir := t.TempDir()
	writeGolden(t, dir, "fixtures", "a.opened", msgA)
	writeGolden(t, dir, "cases", "b.edge", msgB)
	gs, err := ReadGoldens(dir)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, g := range gs {
		keys = append(keys, g.Key())
	}
	if got := strings.Join(keys, " "); got != "fixtures/a.opened cases/b.edge" {
		t.Errorf("keys %q", got)
	}
	if _, err := ReadGoldens(t.TempDir()); err == nil {
		t.Error("no golden files, no error")
	}
	for _, name := range []string{"", "../x", ".hidden"} {
		bad := t.TempDir()
		if err := os.MkdirAll(filepath.Join(bad, "cases"), 0o755); err != nil {
			t.Fatal(err)
		}
		body := `{"case":` + jsonString(name) + `,"message":{"text":"x"}}`
		if err := os.WriteFile(filepath.Join(bad, "cases", "x.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadGoldens(bad); err == nil {
			t.Errorf("case %q: no error", name)
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// fakePNG is a PNG standing in for a picture; shade tells pictures apart.
func fakePNG(t *testing.T, shade uint8) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, Width, 3))
	img.SetGray(1, 1, color.Gray{Y: shade})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// takeAll "takes" a picture of every golden in goldens and saves them in
// pictures, as make messages does with Chromium.
func takeAll(t *testing.T, goldens, pictures string) {
	t.Helper()
	gs, err := ReadGoldens(goldens)
	if err != nil {
		t.Fatal(err)
	}
	var shots []Shot
	for i, g := range gs {
		e, _, err := Expect(g)
		if err != nil {
			t.Fatal(err)
		}
		shots = append(shots, Shot{Golden: g, Entry: e, PNG: fakePNG(t, uint8(i))})
	}
	if err := Save(pictures, "TestBrowser/1.0", shots); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, goldens, pictures string)
		want   []string // one substring per problem
	}{
		{"current", func(*testing.T, string, string) {}, nil},
		{"message changed", func(t *testing.T, goldens, _ string) {
			writeGolden(t, goldens, "cases", "b.edge", strings.Replace(msgB, `"B"`, `"B!"`, 1))
		}, []string{"cases/b.edge: the golden message changed"}},
		{"golden reformatted only", func(t *testing.T, goldens, _ string) {
			writeGolden(t, goldens, "cases", "b.edge", strings.ReplaceAll(msgB, ",", ",\n  "))
		}, nil},
		{"drawing changed", func(t *testing.T, _, pictures string) {
			editManifest(t, pictures, func(m *Manifest) {
				e := m.Pictures["fixtures/a.opened"]
				e.Page = digest([]byte("an older drawing"))
				m.Pictures["fixtures/a.opened"] = e
			})
		}, []string{"fixtures/a.opened: the drawing of the message"}},
		{"new golden", func(t *testing.T, goldens, _ string) {
			writeGolden(t, goldens, "cases", "c.new", msgB)
		}, []string{"cases/c.new: no picture"}},
		{"golden removed", func(t *testing.T, goldens, _ string) {
			if err := os.Remove(filepath.Join(goldens, "cases", "b.edge.json")); err != nil {
				t.Fatal(err)
			}
		}, []string{"cases/b.edge: the manifest has a picture of a golden file that no longer exists"}},
		{"picture removed", func(t *testing.T, _, pictures string) {
			if err := os.Remove(Path(pictures, "cases/b.edge")); err != nil {
				t.Fatal(err)
			}
		}, []string{"cases/b.edge: the picture file is missing"}},
		{"picture replaced", func(t *testing.T, _, pictures string) {
			if err := os.WriteFile(Path(pictures, "cases/b.edge"), fakePNG(t, 200), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"cases/b.edge.png is not the picture the manifest records"}},
		{"not a PNG", func(t *testing.T, _, pictures string) {
			if err := os.WriteFile(Path(pictures, "cases/b.edge"), []byte("GIF89a"), 0o644); err != nil {
				t.Fatal(err)
			}
			editManifest(t, pictures, func(m *Manifest) {
				e := m.Pictures["cases/b.edge"]
				e.PNG = digest([]byte("GIF89a"))
				m.Pictures["cases/b.edge"] = e
			})
		}, []string{"cases/b.edge.png is not a PNG"}},
		{"stray picture", func(t *testing.T, _, pictures string) {
			if err := os.WriteFile(Path(pictures, "fixtures/z.old"), fakePNG(t, 9), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{filepath.Join("fixtures", "z.old.png") + " is the picture of no golden file"}},
		{"no manifest", func(t *testing.T, _, pictures string) {
			if err := os.Remove(filepath.Join(pictures, ManifestFile)); err != nil {
				t.Fatal(err)
			}
		}, []string{"manifest.json: no picture manifest"}},
		{"broken manifest", func(t *testing.T, _, pictures string) {
			if err := os.WriteFile(filepath.Join(pictures, ManifestFile), []byte("{"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"decoding picture manifest"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			goldens, pictures := t.TempDir(), t.TempDir()
			writeGolden(t, goldens, "fixtures", "a.opened", msgA)
			writeGolden(t, goldens, "cases", "b.edge", msgB)
			takeAll(t, goldens, pictures)
			tc.change(t, goldens, pictures)
			gs, err := ReadGoldens(goldens)
			if err != nil {
				t.Fatal(err)
			}
			problems, err := Check(pictures, gs)
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != len(tc.want) {
				t.Fatalf("problems:\n%s\nwant %d: %q", strings.Join(problems, "\n"), len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(problems[i], w) {
					t.Errorf("problem %d is %q, want it to say %q", i, problems[i], w)
				}
			}
			// Taking the pictures again makes them current.
			takeAll(t, goldens, pictures)
			if problems, err := Check(pictures, gs); err != nil || len(problems) != 0 {
				t.Errorf("after taking the pictures again: %q, %v", problems, err)
			}
		})
	}
}

func editManifest(t *testing.T, dir string, edit func(*Manifest)) {
	t.Helper()
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	edit(&m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSaveRemovesStalePictures(t *testing.T) {
	goldens, pictures := t.TempDir(), t.TempDir()
	writeGolden(t, goldens, "fixtures", "a.opened", msgA)
	writeGolden(t, goldens, "cases", "b.edge", msgB)
	takeAll(t, goldens, pictures)
	if err := os.Remove(filepath.Join(goldens, "cases", "b.edge.json")); err != nil {
		t.Fatal(err)
	}
	takeAll(t, goldens, pictures)
	if _, err := os.Stat(Path(pictures, "cases/b.edge")); !os.IsNotExist(err) {
		t.Errorf("the picture of a removed golden is still there: %v", err)
	}
	if _, err := os.Stat(Path(pictures, "fixtures/a.opened")); err != nil {
		t.Error(err)
	}
	m, err := ReadManifest(pictures)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Pictures) != 1 || m.Browser != "TestBrowser/1.0" || m.Width != Width {
		t.Errorf("manifest %+v", m)
	}
	g := Golden{Dir: "cases", Case: "b.edge", Message: json.RawMessage(msgB)}
	if err := Save(pictures, "x", []Shot{{Golden: g, PNG: fakePNG(t, 1)}, {Golden: g, PNG: fakePNG(t, 2)}}); err == nil {
		t.Error("two pictures of one golden saved")
	}
}
