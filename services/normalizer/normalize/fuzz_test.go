package normalize

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/subject"
)

// FuzzNormalize feeds arbitrary event names and bodies to the parser: it
// must never panic, and must either refuse the payload with ErrPayload or
// return valid events on valid subjects.
func FuzzNormalize(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "fixtures", "*.json"))
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		name, _, _ := strings.Cut(filepath.Base(file), ".")
		f.Add(name, body)
	}
	f.Add("push", []byte(`{"commits":[null],"head_commit":null,"repository":{"full_name":"a/b"}}`))
	f.Add("pull_request", []byte(`{"action":"closed","pull_request":{"merged":true}}`))
	f.Add("issues", []byte(`{"action":"opened","issue":null,"repository":{"owner":{"name":"x"}}}`))
	f.Add("a.b c", []byte(`{"action":"x.y>*"}`))
	f.Add("status", []byte(`{"commit":{"commit":{"message":"`+strings.Repeat("é", 3000)+`"}}}`))
	f.Add("issues", []byte(`[]`))
	f.Add("push", []byte(`{"repository":{"full_name":"a/b","pushed_at":99999999999999999}}`))
	f.Add("star", []byte(`{"action":"created","repository":{"full_name":"a b/c","html_url":"javascript:x"},"sender":{"login":"x","html_url":"https://ghe.example.com/x"}}`))
	f.Add("check_run", []byte(`{"action":"rerequested","check_run":{"started_at":"2018-04-25 20:42:10","output":{"x_at":"2018-04-25 20:42:10"}}}`))
	f.Fuzz(func(t *testing.T, name string, body []byte) {
		evs, err := Normalize(delivery.Delivery{Event: name, ID: "fuzz", Body: body})
		if err != nil {
			if !errors.Is(err, ErrPayload) {
				t.Fatalf("error %v does not wrap ErrPayload", err)
			}
			return
		}
		if len(evs) == 0 {
			t.Fatal("no events and no error")
		}
		for i := range evs {
			ev := &evs[i]
			if err := ev.Validate(); err != nil {
				t.Fatalf("invalid event: %v", err)
			}
			if u, err := url.Parse(ev.Source); err != nil || !u.IsAbs() || strings.ContainsAny(ev.Source, " \t\r\n") {
				t.Fatalf("source %q is not an absolute URI", ev.Source)
			}
			if s := Subject(ev); !subject.Valid(s) {
				t.Fatalf("invalid subject %q", s)
			}
			b, err := event.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := event.Unmarshal(b); err != nil {
				t.Fatalf("event does not decode back: %v", err)
			}
		}
	})
}
