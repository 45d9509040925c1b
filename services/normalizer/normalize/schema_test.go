package normalize

import (
	"encoding/json"
	"fmt"
	"github.com/ghnotify/ghnotify/shared/corpus"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
)

// schemaNode is the part of JSON Schema that docs/event-schema.json uses.
type schemaNode struct {
	Ref                  string                 `json:"$ref"`
	Type                 string                 `json:"type"`
	Const                any                    `json:"const"`
	Required             []string               `json:"required"`
	Properties           map[string]*schemaNode `json:"properties"`
	AdditionalProperties *bool                  `json:"additionalProperties"`
	Items                *schemaNode            `json:"items"`
	MinLength            *int                   `json:"minLength"`
	MaxItems             *int                   `json:"maxItems"`
	Minimum              *float64               `json:"minimum"`
	Pattern              string                 `json:"pattern"`
	Format               string                 `json:"format"`
	Defs                 map[string]*schemaNode `json:"$defs"`
}

// knownKeywords are the keywords validate understands or that carry no
// constraint; a schema using any other keyword fails the test, so that the
// validator never silently ignores a constraint.
var knownKeywords = []string{"$schema", "$id", "$ref", "$defs", "title", "description", "type", "const",
	"required", "properties", "additionalProperties", "items", "minLength", "maxItems", "minimum", "pattern", "format"}

func loadSchema(t *testing.T) *schemaNode {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "event-schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("decoding schema: %v", err)
	}
	checkKeywords(t, raw, "")
	var s schemaNode
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("decoding schema: %v", err)
	}
	return &s
}

// checkKeywords fails on a keyword validate does not know.
func checkKeywords(t *testing.T, v any, at string) {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for k, x := range m {
		if !slices.Contains(knownKeywords, k) {
			t.Fatalf("schema keyword %q at %q is not checked by this test", k, at)
		}
		switch k {
		case "properties", "$defs":
			for name, sub := range x.(map[string]any) {
				checkKeywords(t, sub, at+"/"+k+"/"+name)
			}
		case "items":
			checkKeywords(t, x, at+"/items")
		}
	}
}

// validate checks a decoded JSON value against a schema node and returns
// every violation found.
func validate(root, n *schemaNode, v any, at string) []string {
	if n.Ref != "" {
		name, ok := strings.CutPrefix(n.Ref, "#/$defs/")
		def := root.Defs[name]
		if !ok || def == nil {
			return []string{fmt.Sprintf("%s: unresolved $ref %q", at, n.Ref)}
		}
		return validate(root, def, v, at)
	}
	var errs []string
	fail := func(format string, args ...any) {
		errs = append(errs, at+": "+fmt.Sprintf(format, args...))
	}
	if n.Const != nil && v != n.Const {
		fail("%v is not the constant %v", v, n.Const)
	}
	switch n.Type {
	case "":
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			fail("%T is not an object", v)
			return errs
		}
		for _, r := range n.Required {
			if _, ok := obj[r]; !ok {
				fail("required member %q missing", r)
			}
		}
		for k, x := range obj {
			sub, ok := n.Properties[k]
			if !ok {
				if n.AdditionalProperties != nil && !*n.AdditionalProperties {
					fail("member %q not allowed", k)
				}
				continue
			}
			errs = append(errs, validate(root, sub, x, at+"/"+k)...)
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			fail("%T is not an array", v)
			return errs
		}
		if n.MaxItems != nil && len(arr) > *n.MaxItems {
			fail("%d items, at most %d allowed", len(arr), *n.MaxItems)
		}
		if n.Items != nil {
			for i, x := range arr {
				errs = append(errs, validate(root, n.Items, x, fmt.Sprintf("%s/%d", at, i))...)
			}
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			fail("%T is not a string", v)
			return errs
		}
		if n.MinLength != nil && len(s) < *n.MinLength {
			fail("%q shorter than %d", s, *n.MinLength)
		}
		if n.Pattern != "" && !regexp.MustCompile(n.Pattern).MatchString(s) {
			fail("%q does not match %s", s, n.Pattern)
		}
		switch n.Format {
		case "date-time":
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				fail("%q is not an RFC 3339 date-time", s)
			}
		case "uri-reference":
			if _, err := url.Parse(s); err != nil || strings.ContainsAny(s, " \t\n\"<>\\^`{|}") {
				fail("%q is not a URI reference", s)
			}
		case "uri":
			if u, err := url.Parse(s); err != nil || !u.IsAbs() {
				fail("%q is not an absolute URI", s)
			}
		}
	case "integer", "boolean":
		switch x := v.(type) {
		case float64:
			if n.Type == "boolean" || x != math.Trunc(x) {
				fail("%v is not a%s", v, map[bool]string{true: " boolean", false: "n integer"}[n.Type == "boolean"])
			}
			if n.Minimum != nil && x < *n.Minimum {
				fail("%v is below %v", x, *n.Minimum)
			}
		case bool:
			if n.Type != "boolean" {
				fail("%v is not an integer", v)
			}
		default:
			fail("%T is not a%s", v, map[bool]string{true: " boolean", false: "n integer"}[n.Type == "boolean"])
		}
	default:
		fail("schema type %q is not checked by this test", n.Type)
	}
	return errs
}

func validateEvent(t *testing.T, schema *schemaNode, ev *event.Event) []string {
	t.Helper()
	b, err := event.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return validate(schema, schema, v, "")
}

// TestEventsMatchSchema validates the event of every fixture and, when
// present, of every corpus payload against docs/event-schema.json.
func TestEventsMatchSchema(t *testing.T) {
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

// TestSchemaValidatorRejects proves the validator used above can fail.
func TestSchemaValidatorRejects(t *testing.T) {
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
			if errs := validate(schema, schema, v, ""); len(errs) == 0 {
				t.Errorf("validator accepted an event with %s", name)
			}
		})
	}
}

func data(ev map[string]any, member string) map[string]any {
	return ev["data"].(map[string]any)[member].(map[string]any)
}
