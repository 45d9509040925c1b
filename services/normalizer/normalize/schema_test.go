package normalize

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/shared/corpus"
	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// loadSchema compiles docs/event-schema.json with a JSON Schema 2020-12
// validator that also asserts formats (date-time, uri, uri-reference).
func loadSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "docs", "event-schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("decoding schema: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.RegisterFormat(&jsonschema.Format{Name: "uri-reference", Validate: uriReference})
	const loc = "https://github.com/ghnotify/ghnotify/docs/event-schema.json"
	if err := c.AddResource(loc, doc); err != nil {
		t.Fatalf("adding schema: %v", err)
	}
	s, err := c.Compile(loc)
	if err != nil {
		t.Fatalf("compiling schema: %v", err)
	}
	return s
}

// uriReference is the uri-reference format, stricter than the validator's
// own, which accepts whatever net/url parses: RFC 3986 allows none of
// these characters unescaped, and a source holding them is not a URL a
// consumer can use.
func uriReference(v any) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	if strings.ContainsAny(s, " \t\n\"<>\\^`{|}") {
		return fmt.Errorf("%q has characters a URI reference cannot hold", s)
	}
	if _, err := url.Parse(s); err != nil {
		return err
	}
	return nil
}

// validate checks a JSON document against the schema and returns its
// violations, one a line.
func validate(s *jsonschema.Schema, doc []byte) []string {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return []string{err.Error()}
	}
	if err := s.Validate(v); err != nil {
		return strings.Split(strings.TrimSpace(err.Error()), "\n")
	}
	return nil
}

func validateEvent(t *testing.T, schema *jsonschema.Schema, ev *event.Event) []string {
	t.Helper()
	b, err := event.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return validate(schema, b)
}

// TestEventsMatchSchema validates the event of every fixture and, when
// present, of every corpus payload against docs/event-schema.json.
func TestEventsMatchSchema(t *testing.T) {
	t.Parallel()
	schema := loadSchema(t)
	files, err := filepath.Glob(filepath.Join("testdata", "fixtures", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		ev := normalizeOne(t, fixture(t, name))
		for _, e := range validateEvent(t, schema, &ev) {
			t.Errorf("%s: %s", name, e)
		}
	}
	t.Run("corpus", func(t *testing.T) {
		dir := corpus.Dir(t)
		for i, ent := range readIndex(t, dir) {
			body, err := os.ReadFile(filepath.Join(dir, ent.file))
			if err != nil {
				t.Fatal(err)
			}
			ev := normalizeOne(t, delivery.Delivery{Event: ent.event, ID: fmt.Sprintf("schema-%03d", i), HookID: "1", ReceivedAt: received, Body: body})
			for _, e := range validateEvent(t, schema, &ev) {
				t.Errorf("%s: %s", ent.file, e)
			}
		}
	})
}

// TestSchemaValidatorRejects proves that the schema, as validated above,
// refuses broken events.
func TestSchemaValidatorRejects(t *testing.T) {
	t.Parallel()
	schema := loadSchema(t)
	good := normalizeOne(t, fixture(t, "pull_request.merged"))
	if errs := validateEvent(t, schema, &good); len(errs) > 0 {
		t.Fatalf("valid event rejected: %v", errs)
	}
	tests := map[string]func(ev map[string]any){
		"missing id":           func(ev map[string]any) { delete(ev, "id") },
		"wrong specversion":    func(ev map[string]any) { ev["specversion"] = "0.3" },
		"time not RFC 3339":    func(ev map[string]any) { ev["time"] = "yesterday" },
		"source not a URI":     func(ev map[string]any) { ev["source"] = "not a uri" },
		"unknown member":       func(ev map[string]any) { ev["extra"] = 1 },
		"number as string":     func(ev map[string]any) { data(ev, "target")["number"] = "7" },
		"bot as string":        func(ev map[string]any) { data(ev, "actor")["bot"] = "no" },
		"labels of numbers":    func(ev map[string]any) { data(ev, "target")["labels"] = []any{1.0} },
		"repository lost name": func(ev map[string]any) { delete(data(ev, "repository"), "name") },
		"kind without verb":    func(ev map[string]any) { ev["data"].(map[string]any)["kind"] = "push" },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := event.Marshal(&good)
			if err != nil {
				t.Fatal(err)
			}
			var v map[string]any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			mutate(v)
			b, err = json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if errs := validate(schema, b); len(errs) == 0 {
				t.Errorf("validator accepted an event with %s", name)
			}
		})
	}
}

func data(ev map[string]any, member string) map[string]any {
	return ev["data"].(map[string]any)[member].(map[string]any)
}
