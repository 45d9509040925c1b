package normalize

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// doc is a payload decoded without a schema, for the members go-github's
// types lack and for event types go-github does not know. Its getters never
// fail: a missing member or one of another JSON type reads as empty.
type doc map[string]any

// decodeDoc decodes a JSON object, or returns nil.
func decodeDoc(body []byte) doc {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var d map[string]any
	if dec.Decode(&d) != nil {
		return nil
	}
	return d
}

// get walks a dot-separated path; "a|b" takes the first alternative that
// holds a value other than null or "".
func (d doc) get(path string) any {
	for alt := range strings.SplitSeq(path, "|") {
		var v any = map[string]any(d)
		for name := range strings.SplitSeq(alt, ".") {
			obj, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = obj[name]
		}
		if v != nil && v != "" {
			return v
		}
	}
	return nil
}

// str returns the string at path; numbers are written in decimal.
func (d doc) str(path string) string {
	switch v := d.get(path).(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// int returns the integer at path, or 0.
func (d doc) int(path string) int64 {
	n, ok := d.get(path).(json.Number)
	if !ok {
		return 0
	}
	i, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		return 0
	}
	return i
}

// obj returns the object at path, or nil.
func (d doc) obj(path string) doc {
	o, _ := d.get(path).(map[string]any)
	return o
}

// list returns the objects of the array at path.
func (d doc) list(path string) []doc {
	arr, _ := d.get(path).([]any)
	var out []doc
	for _, v := range arr {
		if o, ok := v.(map[string]any); ok {
			out = append(out, o)
		}
	}
	return out
}

// member is one top-level member of a JSON object, in document order.
type member struct {
	name  string
	value json.RawMessage
}

// members returns the top-level members of a JSON object in the order the
// payload lists them, or nil when body is not an object.
func members(body []byte) []member {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return out
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return out
		}
		out = append(out, member{name: name, value: v})
	}
	return out
}
