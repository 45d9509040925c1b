package normalize

import (
	"bytes"
	"encoding/json"
	"github.com/ghnotify/ghnotify/shared/corpus"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/google/go-github/v93/github"
)

func TestProject(t *testing.T) {
	t.Parallel()
	p := only("a").with("b", only("c")).with("d", dropIt)
	tests := []struct {
		name, in, want string
		proj           *projection
		bad            bool
	}{
		{name: "keeps listed members", in: `{"a":1,"x":2}`, want: `{"a":1}`, proj: p},
		{name: "projects nested objects", in: `{"b":{"c":"k","z":[1,2]},"a":[true,null]}`, want: `{"b":{"c":"k"},"a":[true,null]}`, proj: p},
		{name: "projects array elements", in: `{"b":[{"c":1,"q":2},{"q":3}]}`, want: `{"b":[{"c":1},{}]}`, proj: p},
		{name: "keeps others when asked", in: `{"x":{"y":1},"d":5,"b":{"c":1,"e":2}}`, want: `{"x":{"y":1},"b":{"c":1}}`,
			proj: &projection{fields: p.fields, keepOthers: true}},
		{name: "matches names like encoding/json", in: `{"A":1,"\u0061":2}`, want: `{"A":1,"\u0061":2}`, proj: p},
		{name: "white space", in: " {\n\"a\" : [ 1 , 2 ] ,\t\"x\" : { } } ", want: `{"a":[ 1 , 2 ]}`, proj: p},
		{name: "skipped parts are checked", in: `{"x":[1,}`, proj: p, bad: true},
		{name: "bad literal", in: `{"x":tru}`, proj: p, bad: true},
		{name: "bad number", in: `{"x":01}`, proj: p, bad: true},
		{name: "bad escape", in: `{"x":"\q"}`, proj: p, bad: true},
		{name: "control character", in: "{\"x\":\"a\x01\"}", proj: p, bad: true},
		{name: "trailing data", in: `{"a":1} {}`, proj: p, bad: true},
		{name: "missing colon", in: `{"a" 1}`, proj: p, bad: true},
		{name: "too deep", in: `{"x":` + strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1) + `}`, proj: p, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := project([]byte(tt.in), tt.proj)
			if tt.bad {
				if err == nil {
					t.Fatalf("project(%q) = %s, want an error", tt.in, got)
				}
				if json.Valid([]byte(tt.in)) && !strings.Contains(tt.name, "deep") {
					t.Fatalf("test input %q is valid JSON", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatalf("project(%q): %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Errorf("project(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestProjectionLosesNothing normalizes every fixture and corpus payload
// twice, from the trimmed and from the whole payload: the events must be
// identical.
func TestProjectionLosesNothing(t *testing.T) {
	t.Parallel()
	type sample struct {
		name, event string
		body        []byte
	}
	var samples []sample
	fixtures, _ := filepath.Glob(filepath.Join("testdata", "fixtures", "*.json"))
	bench, _ := filepath.Glob(filepath.Join("testdata", "bench", "*.json"))
	for _, f := range append(fixtures, bench...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ev, _, _ := strings.Cut(filepath.Base(f), ".")
		samples = append(samples, sample{f, ev, b})
	}
	if dir := corpusDirOrEmpty(t); dir != "" {
		for _, ent := range readIndex(t, dir) {
			b, err := os.ReadFile(filepath.Join(dir, ent.file))
			if err != nil {
				t.Fatal(err)
			}
			samples = append(samples, sample{ent.file, ent.event, b})
		}
	}
	for _, s := range samples {
		d := delivery.Delivery{Event: s.event, ID: "d", ReceivedAt: received, Body: s.body}
		trimmed, err1 := build(d, bytes.TrimSpace(s.body), true)
		whole, err2 := build(d, bytes.TrimSpace(s.body), false)
		if err1 != nil || err2 != nil {
			t.Errorf("%s: trimmed error %v, whole error %v", s.name, err1, err2)
			continue
		}
		if !reflect.DeepEqual(trimmed, whole) {
			a, _ := json.Marshal(trimmed)
			b, _ := json.Marshal(whole)
			t.Errorf("%s: trimmed and whole payloads differ:\n%s\n%s", s.name, a, b)
		}
	}
}

// corpusDirOrEmpty is corpusDir without the skip.
func corpusDirOrEmpty(t *testing.T) (dir string) {
	ok := t.Run("locate corpus", func(t *testing.T) { dir = corpus.Dir(t) })
	if !ok {
		return ""
	}
	return dir
}

// FuzzProject checks the projector against encoding/json: it accepts
// exactly the valid JSON objects, and a trimmed payload normalizes to the
// same event as the whole one.
func FuzzProject(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"x":[1,{"y":"\u00e9"}],"b":{"c":-1.5e3}}`, `{"a":"\"}`, `{"a":01}`, `{"A":{}}`, `{"repository":{"owner":{"login":"x"}}}`} {
		f.Add("issues", []byte(s))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "fixtures", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		ev, _, _ := strings.Cut(filepath.Base(file), ".")
		f.Add(ev, b)
	}
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		_, err := project(body, payloadProjection(name))
		if valid := json.Valid(body); (err == nil) != valid {
			t.Fatalf("project error %v, json.Valid %v", err, valid)
		}
		if err != nil || len(body) == 0 || body[0] != '{' || name == "" {
			return
		}
		if typed := github.EventForType(name); typed != nil && json.Unmarshal(body, typed) != nil {
			// The whole payload does not decode cleanly; the trimmed one may,
			// since it leaves out parts the event does not use.
			return
		}
		d := delivery.Delivery{Event: name, ID: "d", Body: body}
		trimmed, err1 := build(d, body, true)
		whole, err2 := build(d, body, false)
		if err1 == nil && err2 == nil && !reflect.DeepEqual(trimmed, whole) {
			t.Fatalf("trimmed and whole payloads differ:\n%+v\n%+v", trimmed, whole)
		}
	})
}
