package normalizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/shared/event"
)

// TestEventSchemaMatchesTypes keeps docs/event-schema.json in step with the
// Go types in shared/event: every JSON member of every type is described,
// nothing else is, and the members the Go types always emit are required.
func TestEventSchemaMatchesTypes(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "event-schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		node
		Defs map[string]node `json:"$defs"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatalf("decoding schema: %v", err)
	}
	details := schema.Defs["details"]
	commit := details.Properties["head_commit"]
	checks := []struct {
		name string
		typ  reflect.Type
		node node
	}{
		{"event", reflect.TypeFor[event.Event](), schema.node},
		{"data", reflect.TypeFor[event.Data](), schema.Defs["data"]},
		{"repository", reflect.TypeFor[event.Repository](), schema.Defs["repository"]},
		{"actor", reflect.TypeFor[event.Actor](), schema.Defs["actor"]},
		{"target", reflect.TypeFor[event.Target](), schema.Defs["target"]},
		{"details", reflect.TypeFor[event.Details](), details},
		{"commit", reflect.TypeFor[event.Commit](), commit},
		{"commits", reflect.TypeFor[event.Commit](), deref(details.Properties["commits"].Items)},
		{"wiki page", reflect.TypeFor[event.WikiPage](), deref(details.Properties["pages"].Items)},
		{"link", reflect.TypeFor[event.Link](), details.Properties["related"]},
	}
	for _, c := range checks {
		var members, required []string
		for f := range c.typ.Fields() {
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			members = append(members, name)
			if opts != "omitempty" {
				required = append(required, name)
			}
		}
		var described []string
		for name := range c.node.Properties {
			described = append(described, name)
		}
		slices.Sort(members)
		slices.Sort(described)
		slices.Sort(required)
		slices.Sort(c.node.Required)
		if !slices.Equal(members, described) {
			t.Errorf("%s: Go members %v, schema describes %v", c.name, members, described)
		}
		if !slices.Equal(required, c.node.Required) {
			t.Errorf("%s: Go always emits %v, schema requires %v", c.name, required, c.node.Required)
		}
		if c.node.AdditionalProperties == nil || *c.node.AdditionalProperties {
			t.Errorf("%s: schema allows additional properties", c.name)
		}
	}
}

type node struct {
	Properties           map[string]node `json:"properties"`
	Required             []string        `json:"required"`
	AdditionalProperties *bool           `json:"additionalProperties"`
	Items                *node           `json:"items"`
}

// deref returns the schema of an array's items, or an empty node that
// fails the comparison when the schema describes none.
func deref(n *node) node {
	if n == nil {
		return node{}
	}
	return *n
}
