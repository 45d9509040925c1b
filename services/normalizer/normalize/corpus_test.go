package normalize

import (
	"encoding/json"
	"fmt"
	"github.com/ghnotify/ghnotify/shared/corpus"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/subject"
)

// corpusEntry is one line of INDEX.tsv.
type corpusEntry struct {
	event, action, file string
}

func readIndex(t testing.TB, dir string) []corpusEntry {
	t.Helper()
	var out []corpusEntry
	for _, e := range corpus.Entries(t, dir) {
		out = append(out, corpusEntry{event: e.Event, action: e.Action, file: e.File})
	}
	return out
}

// expectation is what the test reads from a payload independently of the
// normalizer, with a plain JSON decoding.
type expectation struct {
	Repository *struct {
		Name     string `json:"name"`
		FullName string `json:"full_name"`
		Owner    struct {
			Login string `json:"login"`
		} `json:"owner"`
	} `json:"repository"`
	Organization *struct {
		Login string `json:"login"`
	} `json:"organization"`
	Sender *struct {
		Login string `json:"login"`
	} `json:"sender"`
	PullRequest *struct {
		Merged bool `json:"merged"`
	} `json:"pull_request"`
}

func TestCorpus(t *testing.T) {
	t.Parallel()
	dir := corpus.Dir(t)
	entries := readIndex(t, dir)
	if len(entries) == 0 {
		t.Fatal("INDEX.tsv lists no payloads")
	}
	received := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	eventTypes := map[string]bool{}
	for i, ent := range entries {
		t.Run(ent.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, ent.file))
			if err != nil {
				t.Fatal(err)
			}
			var want expectation
			if err := json.Unmarshal(body, &want); err != nil {
				t.Fatalf("decoding expectation: %v", err)
			}
			d := delivery.Delivery{Event: ent.event, ID: fmt.Sprintf("corpus-%03d", i), HookID: "1", ReceivedAt: received, Body: body}
			evs, err := Normalize(d)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if len(evs) != 1 {
				t.Fatalf("got %d events, want 1", len(evs))
			}
			ev := evs[0]
			eventTypes[ent.event] = true
			if err := ev.Validate(); err != nil {
				t.Errorf("invalid event: %v", err)
			}
			merged := want.PullRequest != nil && want.PullRequest.Merged
			if wantKind := event.Kind(ent.event, ent.action, merged); ev.Data.Kind != wantKind {
				t.Errorf("kind = %q, want %q", ev.Data.Kind, wantKind)
			}
			if ent.event == "pull_request" && ent.action == "closed" {
				wantKind := "pull_request.closed"
				if merged {
					wantKind = "pull_request.merged"
				}
				if ev.Data.Kind != wantKind {
					t.Errorf("closed pull request kind = %q, want %q", ev.Data.Kind, wantKind)
				}
			}
			if ev.Type != event.Type(ev.Data.Kind) || ev.ID != event.ID(d.ID, ev.Data.Kind) {
				t.Errorf("type %q / id %q do not follow kind %q", ev.Type, ev.ID, ev.Data.Kind)
			}
			if want.Sender != nil && ev.Data.Actor.Login != want.Sender.Login {
				t.Errorf("actor = %q, want %q", ev.Data.Actor.Login, want.Sender.Login)
			}
			wantOwner, wantRepo := "", ""
			switch {
			case want.Repository != nil:
				if ev.Data.Repository == nil {
					t.Fatalf("repository missing, want %s", want.Repository.FullName)
				}
				if ev.Data.Repository.FullName != want.Repository.FullName {
					t.Errorf("repository = %q, want %q", ev.Data.Repository.FullName, want.Repository.FullName)
				}
				if ev.Data.Repository.Owner != want.Repository.Owner.Login || ev.Data.Repository.Name != want.Repository.Name {
					t.Errorf("repository owner/name = %q/%q, want %q/%q", ev.Data.Repository.Owner, ev.Data.Repository.Name,
						want.Repository.Owner.Login, want.Repository.Name)
				}
				if !strings.HasPrefix(ev.Source, "http") || !strings.HasSuffix(ev.Source, "/"+want.Repository.FullName) {
					t.Errorf("source = %q, want the repository URL", ev.Source)
				}
				wantOwner, wantRepo = want.Repository.Owner.Login, want.Repository.Name
			default:
				if ev.Data.Repository != nil {
					t.Errorf("repository = %+v, payload has none", ev.Data.Repository)
				}
				if want.Organization != nil {
					wantOwner = want.Organization.Login
				}
			}
			subj := Subject(&ev)
			if !subject.Valid(subj) {
				t.Fatalf("subject %q is not a valid NATS subject", subj)
			}
			parts, err := subject.ParseEvent(subj)
			if err != nil {
				t.Fatalf("ParseEvent(%q): %v", subj, err)
			}
			if parts.Owner != strings.ToLower(wantOwner) || parts.Repo != strings.ToLower(wantRepo) {
				t.Errorf("subject %q decodes to %q/%q, want %q/%q", subj, parts.Owner, parts.Repo, wantOwner, wantRepo)
			}
			if parts.Event != ent.event || ent.event+"."+parts.Verb != ev.Data.Kind {
				t.Errorf("subject %q decodes to event %q verb %q, kind is %q", subj, parts.Event, parts.Verb, ev.Data.Kind)
			}
			b, err := event.Marshal(&ev)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := event.Unmarshal(b); err != nil {
				t.Errorf("encoded event does not decode: %v", err)
			}
		})
	}
	if len(eventTypes) < 60 {
		t.Errorf("corpus covered %d event types, want at least 60", len(eventTypes))
	}
}

// awkwardNames are repository and organization names with every kind of
// byte the subject encoding must escape.
var awkwardNames = []struct{ owner, repo string }{
	{"Acme", "socket.io"},
	{"acme.corp", ".github"},
	{"a*b>c d", "x%2Ey.Z\té"},
}

// TestSubjectsWithAwkwardNames renames the repository and organization of
// every fixture and, when present, every corpus payload to names that need
// escaping, and checks that each subject is valid and decodes back to those
// names. The payloads' own names need no escaping beyond lowercasing, so
// this is what would catch a broken encoding.
func TestSubjectsWithAwkwardNames(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "fixtures", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		event, _, _ := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".json"), ".")
		checkAwkwardNames(t, f, event)
	}
	t.Run("corpus", func(t *testing.T) {
		dir := corpus.Dir(t)
		for _, ent := range readIndex(t, dir) {
			checkAwkwardNames(t, filepath.Join(dir, ent.file), ent.event)
		}
	})
}

// checkAwkwardNames normalizes the payload in file under each of
// awkwardNames and checks the subject.
func checkAwkwardNames(t *testing.T, file, eventName string) {
	t.Helper()
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// Decoded once: each name below overwrites the same members.
	var payload map[string]any
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&payload); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, n := range awkwardNames {
		wantOwner, wantRepo := "", ""
		if r, ok := payload["repository"].(map[string]any); ok {
			r["name"], r["full_name"] = n.repo, n.owner+"/"+n.repo
			if o, ok := r["owner"].(map[string]any); ok {
				o["login"] = n.owner
			}
			wantOwner, wantRepo = n.owner, n.repo
		} else if o, ok := payload["organization"].(map[string]any); ok {
			o["login"] = n.owner
			wantOwner = n.owner
		}
		renamed, err := json.Marshal(payload)
		if err != nil {
			t.Fatal(err)
		}
		ev := normalizeOne(t, delivery.Delivery{Event: eventName, ID: "awkward-" + filepath.Base(file), Body: renamed})
		subj := Subject(&ev)
		if !subject.Valid(subj) {
			t.Errorf("%s as %s/%s: subject %q is not valid", file, n.owner, n.repo, subj)
			continue
		}
		parts, err := subject.ParseEvent(subj)
		if err != nil {
			t.Errorf("%s as %s/%s: ParseEvent(%q): %v", file, n.owner, n.repo, subj, err)
			continue
		}
		if parts.Owner != strings.ToLower(wantOwner) || parts.Repo != strings.ToLower(wantRepo) {
			t.Errorf("%s: subject %q decodes to %q/%q, want %q/%q", file, subj, parts.Owner, parts.Repo, wantOwner, wantRepo)
		}
	}
}
