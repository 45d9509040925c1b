// Package subject names ghnotify's NATS subjects and encodes GitHub names
// into subject tokens.
//
// Subjects:
//
//	github.raw.<event>                              raw deliveries (stream GHNOTIFY_RAW)
//	github.event.<owner>.<repo>.<event>.<verb>      canonical events (stream GHNOTIFY_EVENTS)
//	ghnotify.dlq.<stage>.<original subject>         dead letters (stream GHNOTIFY_DLQ)
//
// A token is the GitHub name lowercased (owners and repositories are
// case-insensitive on GitHub), with every byte outside [a-z0-9_-] written as
// %XX (two upper-case hex digits). "socket.io" becomes "socket%2Eio". The
// encoding is reversible, and the result never contains '.', '*', '>' or
// white space, which NATS forbids in a token.
package subject

import (
	"errors"
	"fmt"
	"strings"
)

// Subject prefixes and stream subject filters.
const (
	RawPrefix   = "github.raw"
	EventPrefix = "github.event"
	DLQPrefix   = "ghnotify.dlq"

	RawAll   = RawPrefix + ".>"
	EventAll = EventPrefix + ".>"
	DLQAll   = DLQPrefix + ".>"
)

// None is the token used for the owner or repository of an event that has
// none (for example an organization event has no repository).
const None = "_"

// Raw returns the subject of a raw delivery of the named GitHub event.
func Raw(eventName string) string {
	return RawPrefix + "." + Encode(eventName)
}

// Event returns the subject of a canonical event. An empty owner or repo is
// written as None.
func Event(owner, repo, eventName, verb string) string {
	return EventPrefix + "." + tokenOrNone(owner) + "." + tokenOrNone(repo) + "." +
		tokenOrNone(eventName) + "." + tokenOrNone(verb)
}

// DLQ returns the dead-letter subject for a message that failed at the
// named stage (normalizer, slack-sink) on the given original subject.
func DLQ(stage, original string) string {
	return DLQPrefix + "." + Encode(stage) + "." + original
}

func tokenOrNone(s string) string {
	if s == "" {
		return None
	}
	return Encode(s)
}

// EventParts are the decoded tokens of a canonical event subject.
type EventParts struct {
	Owner, Repo, Event, Verb string
}

// ParseEvent decodes a canonical event subject. Owner or Repo are empty
// where the subject carries None.
func ParseEvent(subj string) (EventParts, error) {
	rest, ok := strings.CutPrefix(subj, EventPrefix+".")
	if !ok {
		return EventParts{}, fmt.Errorf("subject %q does not start with %s", subj, EventPrefix)
	}
	toks := strings.Split(rest, ".")
	if len(toks) != 4 {
		return EventParts{}, fmt.Errorf("subject %q has %d tokens after %s, want 4", subj, len(toks), EventPrefix)
	}
	var out [4]string
	for i, t := range toks {
		if t == None {
			continue
		}
		d, err := Decode(t)
		if err != nil {
			return EventParts{}, fmt.Errorf("decoding token %d of %q: %w", i, subj, err)
		}
		out[i] = d
	}
	return EventParts{Owner: out[0], Repo: out[1], Event: out[2], Verb: out[3]}, nil
}

const hexDigits = "0123456789ABCDEF"

// Encode returns s lowercased as a single NATS subject token, with every byte
// outside [a-z0-9_-] percent-encoded. Encode("") is "".
//
// Hand-written because no standard encoding fits: url.PathEscape and
// url.QueryEscape leave '.' as it is (it splits a NATS token), base64 and
// hex are not readable in a subject filter, and the encoding must be
// reversible and stable across releases, since subjects are stored in
// streams and named in routes.
func Encode(s string) string {
	s = strings.ToLower(s)
	clean := true
	for i := 0; i < len(s); i++ {
		if !plain(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if plain(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xF])
	}
	return b.String()
}

func plain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// ErrBadToken reports a token that Encode cannot have produced.
var ErrBadToken = errors.New("malformed subject token")

// Decode reverses Encode.
func Decode(tok string) (string, error) {
	if !strings.Contains(tok, "%") {
		for i := 0; i < len(tok); i++ {
			if !plain(tok[i]) {
				return "", fmt.Errorf("%w: byte %q at %d", ErrBadToken, tok[i], i)
			}
		}
		return tok, nil
	}
	b := make([]byte, 0, len(tok))
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case plain(c):
			b = append(b, c)
		case c == '%' && i+2 < len(tok):
			hi, lo := unhex(tok[i+1]), unhex(tok[i+2])
			if hi < 0 || lo < 0 {
				return "", fmt.Errorf("%w: bad escape at %d", ErrBadToken, i)
			}
			v := byte(hi<<4 | lo)
			if plain(v) || (v >= 'A' && v <= 'Z') {
				return "", fmt.Errorf("%w: needless escape at %d", ErrBadToken, i)
			}
			b = append(b, v)
			i += 2
		default:
			return "", fmt.Errorf("%w: byte %q at %d", ErrBadToken, c, i)
		}
	}
	return string(b), nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// ValidToken reports whether tok can stand as one token of a NATS subject
// (non-empty, no '.', '*', '>' or white space).
func ValidToken(tok string) bool {
	if tok == "" {
		return false
	}
	for i := 0; i < len(tok); i++ {
		switch tok[i] {
		case '.', '*', '>', ' ', '\t', '\r', '\n', '\f', '\v':
			return false
		}
	}
	return true
}

// Valid reports whether subj is a valid NATS subject for publishing: dot
// separated valid tokens, no wildcards.
func Valid(subj string) bool {
	if subj == "" {
		return false
	}
	for _, t := range strings.Split(subj, ".") {
		if !ValidToken(t) {
			return false
		}
	}
	return true
}
