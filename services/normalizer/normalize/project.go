package normalize

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// A projection says which parts of a JSON document to keep. Decoding a
// 30 KiB pull request payload with encoding/json costs far more than the
// few hundred bytes the canonical event needs, most of it in API URLs and in
// full copies of the repository; project copies only the listed members
// into a small document, checking that the parts it skips are well-formed
// JSON, and go-github then decodes that small document.
type projection struct {
	// fields maps a member name to what to do with its value: keep it
	// whole (keepWhole), drop it (dropIt) or project it further. An array
	// value applies the projection to each of its elements.
	fields map[string]*projection
	// keepOthers keeps the members fields does not name, whole.
	keepOthers bool
}

// Sentinel projections.
var (
	keepWhole = &projection{}
	dropIt    = &projection{}
)

// only returns a projection keeping the named members whole.
func only(names ...string) *projection {
	p := &projection{fields: map[string]*projection{}}
	for _, n := range names {
		p.fields[n] = keepWhole
	}
	return p
}

// with returns p with member name projected by sub.
func (p *projection) with(name string, sub *projection) *projection {
	p.fields[name] = sub
	return p
}

// Projections of the objects GitHub repeats in its payloads, keeping the
// fields normalize reads.
var (
	userProjection = only("login", "name", "type", "html_url")
	repoProjection = only("name", "full_name", "html_url", "private", "default_branch",
		"stargazers_count", "pushed_at", "created_at", "description").with("owner", userProjection)
	orgProjection   = only("login", "html_url", "id")
	labelProjection = only("name")
	teamProjection  = only("slug", "name")
	issueProjection = only("number", "id", "title", "html_url", "state", "body", "draft",
		"pull_request", "created_at", "updated_at").
		with("labels", labelProjection).with("user", userProjection).with("assignees", userProjection)
	pullProjection = only("number", "id", "title", "html_url", "state", "body", "draft", "merged",
		"created_at", "updated_at").
		with("labels", labelProjection).with("user", userProjection).with("assignees", userProjection).
		with("requested_reviewers", userProjection).with("requested_teams", teamProjection).
		with("base", only("ref")).with("head", only("ref", "sha"))
)

// payloadProjection returns the projection of a payload of the named event:
// the shared objects trimmed, the bulky objects of the core kinds trimmed
// too, and every other member kept whole so go-github, or the decoding of
// types go-github does not know, sees it.
func payloadProjection(eventName string) *projection {
	if p, ok := payloadProjections[eventName]; ok {
		return p
	}
	return defaultProjection
}

func topLevel() *projection {
	return &projection{
		fields: map[string]*projection{
			"repository":   repoProjection,
			"organization": orgProjection,
			"sender":       userProjection,
			"installation": dropIt,
			"enterprise":   dropIt,
		},
		keepOthers: true,
	}
}

var (
	defaultProjection  = topLevel()
	payloadProjections = map[string]*projection{
		// The installation is the object of these events: keep it whole.
		"installation":              topLevel().with("installation", keepWhole),
		"installation_repositories": topLevel().with("installation", keepWhole),
		"installation_target":       topLevel().with("installation", keepWhole),
		"issues": topLevel().with("issue", issueProjection).
			with("label", labelProjection).with("assignee", userProjection),
		"issue_comment": topLevel().with("issue", issueProjection).
			with("comment", only("body", "html_url", "created_at", "updated_at")),
		"pull_request": topLevel().with("pull_request", pullProjection).
			with("label", labelProjection).with("assignee", userProjection).
			with("requested_reviewer", userProjection).with("requested_team", teamProjection),
		"pull_request_review": topLevel().with("pull_request", pullProjection).
			with("review", only("state", "html_url", "body", "submitted_at").with("user", userProjection)),
		"pull_request_review_comment": topLevel().with("pull_request", pullProjection).
			with("comment", only("body", "html_url", "path", "created_at", "updated_at")),
	}
)

// project returns the members of the JSON object in that p keeps, or an
// error when in is not one well-formed JSON value.
func project(in []byte, p *projection) ([]byte, error) {
	s := projector{in: in, out: make([]byte, 0, min(len(in), 8<<10))}
	s.ws()
	if err := s.value(p); err != nil {
		return nil, err
	}
	s.ws()
	if s.pos != len(s.in) {
		return nil, s.fail("data after the top-level value")
	}
	return s.out, nil
}

type projector struct {
	in    []byte
	pos   int
	out   []byte
	depth int
}

// maxDepth bounds nesting, as encoding/json does, so a hostile payload
// cannot exhaust the stack.
const maxDepth = 10000

func (s *projector) enter() error {
	s.depth++
	if s.depth > maxDepth {
		return s.fail("nested too deeply")
	}
	return nil
}

// projectionError reports malformed JSON.
type projectionError struct {
	offset int
	msg    string
}

func (e *projectionError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.offset, e.msg)
}

func (s *projector) fail(msg string) error {
	return &projectionError{offset: s.pos, msg: msg}
}

func (s *projector) ws() {
	for s.pos < len(s.in) {
		switch s.in[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// value projects (p not nil and not keepWhole) or copies (p is keepWhole)
// or skips (p is nil) the value at pos.
func (s *projector) value(p *projection) error {
	s.ws()
	if s.pos >= len(s.in) {
		return s.fail("unexpected end of input")
	}
	if p != nil && p != keepWhole {
		switch s.in[s.pos] {
		case '{':
			return s.object(p)
		case '[':
			return s.array(p)
		}
	}
	start := s.pos
	if err := s.skip(); err != nil {
		return err
	}
	if p != nil {
		s.out = append(s.out, s.in[start:s.pos]...)
	}
	return nil
}

func (s *projector) object(p *projection) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer func() { s.depth-- }()
	s.pos++ // '{'
	s.out = append(s.out, '{')
	first := true
	s.ws()
	if s.pos < len(s.in) && s.in[s.pos] == '}' {
		s.pos++
		s.out = append(s.out, '}')
		return nil
	}
	for {
		s.ws()
		if s.pos >= len(s.in) || s.in[s.pos] != '"' {
			return s.fail("expected a member name")
		}
		kstart := s.pos
		if err := s.skipString(); err != nil {
			return err
		}
		key := s.in[kstart:s.pos]
		s.ws()
		if s.pos >= len(s.in) || s.in[s.pos] != ':' {
			return s.fail("expected ':' after a member name")
		}
		s.pos++
		sub := p.lookup(key)
		if sub != nil {
			if !first {
				s.out = append(s.out, ',')
			}
			first = false
			s.out = append(s.out, key...)
			s.out = append(s.out, ':')
		}
		if err := s.value(sub); err != nil {
			return err
		}
		s.ws()
		if s.pos >= len(s.in) {
			return s.fail("unexpected end of input in an object")
		}
		switch s.in[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			s.out = append(s.out, '}')
			return nil
		default:
			return s.fail("expected ',' or '}' in an object")
		}
	}
}

func (s *projector) array(p *projection) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer func() { s.depth-- }()
	s.pos++ // '['
	s.out = append(s.out, '[')
	s.ws()
	if s.pos < len(s.in) && s.in[s.pos] == ']' {
		s.pos++
		s.out = append(s.out, ']')
		return nil
	}
	for first := true; ; first = false {
		if !first {
			s.out = append(s.out, ',')
		}
		if err := s.value(p); err != nil {
			return err
		}
		s.ws()
		if s.pos >= len(s.in) {
			return s.fail("unexpected end of input in an array")
		}
		switch s.in[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			s.out = append(s.out, ']')
			return nil
		default:
			return s.fail("expected ',' or ']' in an array")
		}
	}
}

// lookup returns what to do with the member whose quoted name is key: nil
// to drop it. Names match as encoding/json matches them to struct fields,
// ignoring ASCII case.
func (p *projection) lookup(quoted []byte) *projection {
	name := quoted[1 : len(quoted)-1]
	var sub *projection
	var ok bool
	if plainLower(name) {
		sub, ok = p.fields[string(name)]
	} else {
		sub, ok = p.fields[foldName(name)]
	}
	switch {
	case !ok && p.keepOthers:
		return keepWhole
	case !ok, sub == dropIt:
		return nil
	}
	return sub
}

func plainLower(b []byte) bool {
	for _, c := range b {
		if c >= 'A' && c <= 'Z' || c == '\\' {
			return false
		}
	}
	return true
}

// foldName unquotes an escaped member name and lowercases it.
func foldName(name []byte) string {
	var s string
	if err := json.Unmarshal(append(append([]byte{'"'}, name...), '"'), &s); err != nil {
		return ""
	}
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// skip checks and passes over one JSON value.
func (s *projector) skip() error {
	s.ws()
	if s.pos >= len(s.in) {
		return s.fail("unexpected end of input")
	}
	switch c := s.in[s.pos]; {
	case c == '"':
		return s.skipString()
	case c == '{' || c == '[':
		return s.skipNested()
	case c == '-' || c >= '0' && c <= '9':
		return s.skipNumber()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.fail("unexpected character")
}

// skipNested passes over an object or array, checking its structure.
func (s *projector) skipNested() error {
	if err := s.enter(); err != nil {
		return err
	}
	defer func() { s.depth-- }()
	open := s.in[s.pos]
	s.pos++
	s.ws()
	closer := byte('}')
	if open == '[' {
		closer = ']'
	}
	if s.pos < len(s.in) && s.in[s.pos] == closer {
		s.pos++
		return nil
	}
	for {
		if open == '{' {
			s.ws()
			if s.pos >= len(s.in) || s.in[s.pos] != '"' {
				return s.fail("expected a member name")
			}
			if err := s.skipString(); err != nil {
				return err
			}
			s.ws()
			if s.pos >= len(s.in) || s.in[s.pos] != ':' {
				return s.fail("expected ':' after a member name")
			}
			s.pos++
		}
		if err := s.skip(); err != nil {
			return err
		}
		s.ws()
		if s.pos >= len(s.in) {
			return s.fail("unexpected end of input")
		}
		switch s.in[s.pos] {
		case ',':
			s.pos++
		case closer:
			s.pos++
			return nil
		default:
			return s.fail("expected a separator or the end of an object or array")
		}
	}
}

// skipString passes over a string, checking its escapes and that it holds
// no control characters.
func (s *projector) skipString() error {
	s.pos++ // opening quote
	for s.pos < len(s.in) {
		// Pass eight plain bytes at a time: no quote, backslash or control character.
		for s.pos+8 <= len(s.in) && !special8(binary.LittleEndian.Uint64(s.in[s.pos:])) {
			s.pos += 8
		}
		if s.pos >= len(s.in) {
			break
		}
		c := s.in[s.pos]
		switch {
		case c == '"':
			s.pos++
			return nil
		case c == '\\':
			if s.pos+1 >= len(s.in) {
				return s.fail("unterminated escape")
			}
			switch s.in[s.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos += 2
			case 'u':
				if s.pos+6 > len(s.in) || !hex4(s.in[s.pos+2:s.pos+6]) {
					return s.fail("bad \\u escape")
				}
				s.pos += 6
			default:
				return s.fail("bad escape")
			}
		case c < 0x20:
			return s.fail("control character in a string")
		default:
			s.pos++
		}
	}
	return s.fail("unterminated string")
}

// special8 reports whether any of the eight bytes in x is a quote, a
// backslash or a control character (the bit tricks of "Bit Twiddling Hacks":
// determine whether a word has a zero byte, or a byte less than n).
func special8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := x ^ (ones * '"')
	b := x ^ (ones * '\\')
	return ((q-ones) & ^q | (b-ones) & ^b | (x-ones*0x20) & ^x)&highs != 0
}

func hex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// skipNumber passes over a number in JSON's grammar.
func (s *projector) skipNumber() error {
	if s.in[s.pos] == '-' {
		s.pos++
	}
	switch {
	case s.pos < len(s.in) && s.in[s.pos] == '0':
		s.pos++
	case s.pos < len(s.in) && s.in[s.pos] >= '1' && s.in[s.pos] <= '9':
		s.digits()
	default:
		return s.fail("bad number")
	}
	if s.pos < len(s.in) && s.in[s.pos] == '.' {
		s.pos++
		if s.digits() == 0 {
			return s.fail("bad fraction")
		}
	}
	if s.pos < len(s.in) && (s.in[s.pos] == 'e' || s.in[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.in) && (s.in[s.pos] == '+' || s.in[s.pos] == '-') {
			s.pos++
		}
		if s.digits() == 0 {
			return s.fail("bad exponent")
		}
	}
	return nil
}

func (s *projector) digits() int {
	start := s.pos
	for s.pos < len(s.in) && s.in[s.pos] >= '0' && s.in[s.pos] <= '9' {
		s.pos++
	}
	return s.pos - start
}

func (s *projector) literal(lit string) error {
	if len(s.in)-s.pos < len(lit) || string(s.in[s.pos:s.pos+len(lit)]) != lit {
		return s.fail("bad literal")
	}
	s.pos += len(lit)
	return nil
}
