// Package normalize turns a raw GitHub webhook delivery into ghnotify's
// canonical events. It is pure: no network, no clock, no NATS. The same
// delivery always yields the same events.
//
// Payloads are decoded with google/go-github's event types. An event type
// go-github does not know becomes a generic event (event, action,
// repository, organization, actor). A value nested inside one of the
// payload's objects whose JSON type differs from go-github's (GitHub changes
// shapes over time) is skipped, so the rest of the event still comes through;
// a body that is not a JSON object, or whose top-level fields have the wrong
// type, is refused with an error that retrying cannot fix.
package normalize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/subject"
	"github.com/google/go-github/v93/github"
)

// ErrPayload marks a payload that can never be normalized: retrying the same
// bytes gives the same error.
var ErrPayload = errors.New("unusable payload")

// maxTextLen caps bodies and comment texts copied into an event; the full
// text stays in the raw stream.
const maxTextLen = 4096

// maxCommits caps the commits listed in a push event's details.
const maxCommits = 20

// maxPaths caps the changed paths listed in a push event's details.
const maxPaths = 100

// Normalize returns the canonical events of one delivery: one event for
// every delivery GitHub sends today. An error wraps ErrPayload.
func Normalize(d delivery.Delivery) ([]event.Event, error) {
	if d.Event == "" {
		return nil, fmt.Errorf("%w: delivery has no event name", ErrPayload)
	}
	if d.ID == "" {
		return nil, fmt.Errorf("%w: delivery has no id", ErrPayload)
	}
	body := bytes.TrimSpace(d.Body)
	if len(body) == 0 || body[0] != '{' {
		return nil, fmt.Errorf("%w: %s payload is not a JSON object", ErrPayload, d.Event)
	}
	ev, err := build(d, body, true)
	if err != nil {
		return nil, err
	}
	return []event.Event{ev}, nil
}

// build decodes body and assembles the event. With trim, only the parts of
// the payload the event needs are decoded (see projection); the result is
// the same.
func build(d delivery.Delivery, body []byte, trim bool) (event.Event, error) {
	b := builder{d: d}
	typed := github.EventForType(d.Event)
	if trim {
		small, err := project(body, payloadProjection(d.Event))
		if err != nil {
			return event.Event{}, fmt.Errorf("%w: reading %s payload: %s", ErrPayload, d.Event, err)
		}
		body = small
	}
	useTyped := typed != nil
	needGeneric := typed == nil
	if typed != nil {
		err := json.Unmarshal(body, typed)
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case err == nil:
		case errors.As(err, &se):
			return event.Event{}, fmt.Errorf("%w: decoding %s payload: %s", ErrPayload, d.Event, describe(err))
		case errors.As(err, &te) && !strings.Contains(te.Field, "."):
			// A top-level field of the wrong type: not the event it claims to be.
			return event.Event{}, fmt.Errorf("%w: decoding %s payload: %s", ErrPayload, d.Event, describe(err))
		case errors.As(err, &te):
			// go-github skipped a nested value of an unexpected type and
			// decoded the rest; the common fields are checked below.
			needGeneric = true
		default:
			// A value go-github could not read stopped its decoding part
			// way. Timestamps in GitHub's older "2006-01-02 15:04:05"
			// format are the known case: rewrite them and decode again;
			// failing that, keep only the common fields.
			typed, useTyped = retryTimestamps(d.Event, body)
			needGeneric = !useTyped
		}
		if useTyped && !b.common(typed) {
			needGeneric = true
		}
	}
	if needGeneric {
		var g generic
		if err := json.Unmarshal(body, &g); err != nil {
			return event.Event{}, fmt.Errorf("%w: decoding %s payload: %s", ErrPayload, d.Event, describe(err))
		}
		b.fillGeneric(&g)
	}
	switch {
	case useTyped:
		b.rich(typed)
		b.supplement(body)
	case typed == nil:
		b.untyped(body)
	default:
		// go-github could not decode this payload of a known type: name
		// its object the way an unknown type's is named.
		b.genericTarget(body)
	}
	return b.event(), nil
}

// oldTimestamp is the layout of timestamps in some older GitHub payloads, in UTC.
const oldTimestamp = "2006-01-02 15:04:05"

// retryTimestamps rewrites the timestamps of body that are in the older
// layout as RFC 3339 and decodes the result into a new go-github event. It
// reports false when body has no such timestamp or still does not decode.
func retryTimestamps(eventName string, body []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, false
	}
	if !rewriteTimestamps(doc) {
		return nil, false
	}
	fixed, err := json.Marshal(doc)
	if err != nil {
		return nil, false
	}
	typed := github.EventForType(eventName)
	if typed == nil || json.Unmarshal(fixed, typed) != nil {
		return nil, false
	}
	return typed, true
}

// rewriteTimestamps replaces, in place, every string member named *_at that
// holds a timestamp in the older layout, and reports whether it found one.
func rewriteTimestamps(v any) bool {
	changed := false
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && strings.HasSuffix(k, "_at") {
				if t, err := time.Parse(oldTimestamp, s); err == nil {
					v[k] = t.Format(time.RFC3339)
					changed = true
				}
				continue
			}
			changed = rewriteTimestamps(x) || changed
		}
	case []any:
		for _, x := range v {
			changed = rewriteTimestamps(x) || changed
		}
	}
	return changed
}

// describe returns a short reason for a decoding error, without payload content.
func describe(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q is a JSON %s, want %s", te.Field, te.Value, te.Type)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, se.Error())
	}
	return err.Error()
}

// builder collects the parts of one event.
type builder struct {
	d       delivery.Delivery
	action  string
	merged  bool
	org     string
	orgURL  string
	repo    *event.Repository
	actor   event.Actor
	target  *event.Target
	details event.Details
	subject string
	when    time.Time
}

// Getter interfaces most go-github event types implement.
type (
	actionGetter interface{ GetAction() string }
	repoGetter   interface{ GetRepo() *github.Repository }
	senderGetter interface{ GetSender() *github.User }
	orgGetter    interface {
		GetOrg() *github.Organization
	}
	organizationGetter interface {
		GetOrganization() *github.Organization
	}
)

// common fills action, repository, organization and actor from a typed
// event. It reports false when the type lacks a getter, so that the generic
// decoding must fill the gaps.
func (b *builder) common(typed any) bool {
	complete := true
	if a, ok := typed.(actionGetter); ok {
		b.action = a.GetAction()
	} else {
		complete = false
	}
	switch t := typed.(type) {
	case *github.PushEvent:
		b.repo = pushRepository(t.GetRepo())
	case repoGetter:
		b.repo = repository(t.GetRepo())
	default:
		complete = false
	}
	if s, ok := typed.(senderGetter); ok {
		b.actor = actor(s.GetSender())
	} else {
		complete = false
	}
	switch t := typed.(type) {
	case orgGetter:
		b.setOrg(t.GetOrg())
	case organizationGetter:
		b.setOrg(t.GetOrganization())
	default:
		complete = false
	}
	return complete
}

func (b *builder) setOrg(o *github.Organization) {
	if o == nil {
		return
	}
	b.org = o.GetLogin()
	b.orgURL = o.GetHTMLURL()
}

// fillGeneric fills whatever the typed decoding left empty.
func (b *builder) fillGeneric(g *generic) {
	if b.action == "" {
		b.action = g.Action
	}
	if b.repo == nil && g.Repository != nil {
		b.repo = g.Repository.canonical()
	}
	if b.actor.Login == "" && g.Sender != nil {
		b.actor = g.Sender.canonical()
	}
	if b.org == "" && g.Organization != nil {
		b.org = g.Organization.Login
		b.orgURL = g.Organization.HTMLURL
	}
}

// event assembles the canonical event.
func (b *builder) event() event.Event {
	kind := event.Kind(b.d.Event, b.action, b.merged)
	t := b.when
	if t.IsZero() || t.Year() < 1970 || t.Year() > 9999 {
		// No usable timestamp in the payload (JSON cannot even encode
		// years past 9999): fall back to when the gateway received it.
		t = b.d.ReceivedAt
	}
	b.webLinksOnly()
	var details *event.Details
	if !reflect.ValueOf(b.details).IsZero() {
		d := b.details
		details = &d
	}
	subj := b.subject
	if subj == "" {
		subj = b.defaultSubject()
	}
	return event.Event{
		SpecVersion:     event.SpecVersion,
		ID:              event.ID(b.d.ID, kind),
		Source:          b.source(),
		Type:            event.Type(kind),
		Subject:         subj,
		Time:            t.UTC(),
		DataContentType: event.ContentType,
		Data: event.Data{
			Kind:         kind,
			Event:        b.d.Event,
			Action:       b.action,
			DeliveryID:   b.d.ID,
			HookID:       b.d.HookID,
			Organization: b.org,
			Repository:   b.repo,
			Actor:        b.actor,
			Target:       b.target,
			Details:      details,
		},
	}
}

// source is the repository URL, else the organization URL, else one built
// from the host of the actor's URL (GitHub Enterprise) or github.com. It is
// always an absolute http(s) URL, escaped, so a valid CloudEvents source.
func (b *builder) source() string {
	if b.repo != nil {
		if u, ok := webURL(b.repo.URL); ok {
			return u.String()
		}
	}
	if u, ok := webURL(b.orgURL); ok {
		return u.String()
	}
	base := &url.URL{Scheme: "https", Host: "github.com"}
	if u, ok := webURL(b.actor.URL); ok {
		base = &url.URL{Scheme: u.Scheme, Host: u.Host}
	}
	switch {
	case b.repo != nil && b.repo.FullName != "":
		owner, name, _ := strings.Cut(b.repo.FullName, "/")
		return base.JoinPath(owner, name).String()
	case b.org != "":
		return base.JoinPath(b.org).String()
	}
	return base.String()
}

// webURL parses s as an absolute http or https URL with a host.
func webURL(s string) (*url.URL, bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, false
	}
	return u, true
}

func (b *builder) defaultSubject() string {
	switch {
	case b.repo != nil:
		return b.repo.FullName
	case b.org != "":
		return b.org
	}
	return ""
}

// repoSubject returns "<full name><sep><suffix>", or "" without a repository.
func (b *builder) repoSubject(sep, suffix string) string {
	if b.repo == nil || b.repo.FullName == "" || suffix == "" {
		return ""
	}
	return b.repo.FullName + sep + suffix
}

// numberSubject returns "owner/repo#N".
func (b *builder) numberSubject(n int) string {
	if n == 0 {
		return ""
	}
	return b.repoSubject("#", strconv.Itoa(n))
}

// Subject returns the NATS subject an event is published on:
// github.event.<owner>.<repo>.<event>.<verb>. The owner is the repository's
// owner or, for events without a repository, the organization.
func Subject(ev *event.Event) string {
	owner, repo := "", ""
	if r := ev.Data.Repository; r != nil {
		owner, repo = r.Owner, r.Name
	} else {
		owner = ev.Data.Organization
	}
	verb := strings.TrimPrefix(ev.Data.Kind, ev.Data.Event+".")
	return subject.Event(owner, repo, ev.Data.Event, verb)
}

func repository(r *github.Repository) *event.Repository {
	if r == nil {
		return nil
	}
	out := &event.Repository{
		Owner:         r.GetOwner().GetLogin(),
		Name:          r.GetName(),
		FullName:      r.GetFullName(),
		URL:           r.GetHTMLURL(),
		Private:       r.GetPrivate(),
		DefaultBranch: r.GetDefaultBranch(),
	}
	return completeRepository(out)
}

func pushRepository(r *github.PushEventRepository) *event.Repository {
	if r == nil {
		return nil
	}
	out := &event.Repository{
		Owner:         r.GetOwner().GetLogin(),
		Name:          r.GetName(),
		FullName:      r.GetFullName(),
		URL:           r.GetHTMLURL(),
		Private:       r.GetPrivate(),
		DefaultBranch: r.GetDefaultBranch(),
	}
	if out.Owner == "" {
		out.Owner = r.GetOwner().GetName()
	}
	return completeRepository(out)
}

// completeRepository derives owner, name and full name from one another and
// returns nil for a repository object that names nothing.
func completeRepository(r *event.Repository) *event.Repository {
	if owner, name, ok := strings.Cut(r.FullName, "/"); ok {
		if r.Owner == "" {
			r.Owner = owner
		}
		if r.Name == "" {
			r.Name = name
		}
	}
	if r.FullName == "" && r.Owner != "" && r.Name != "" {
		r.FullName = r.Owner + "/" + r.Name
	}
	if r.Name == "" && r.FullName == "" {
		return nil
	}
	return r
}

func actor(u *github.User) event.Actor {
	if u == nil {
		return event.Actor{}
	}
	return newActor(u.GetLogin(), u.GetType(), u.GetHTMLURL())
}

func newActor(login, typ, htmlURL string) event.Actor {
	return event.Actor{
		Login: login,
		Type:  typ,
		Bot:   typ == "Bot" || strings.HasSuffix(login, "[bot]"),
		URL:   htmlURL,
	}
}

// truncate cuts s to at most maxTextLen bytes on a UTF-8 boundary.
func truncate(s string) string {
	if len(s) <= maxTextLen {
		return s
	}
	cut := maxTextLen
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(c byte) bool { return c&0xC0 != 0x80 }

// first returns the first non-zero time.
func first(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// names returns the non-empty names of xs, in order.
func names[T any](xs []T, name func(T) string) []string {
	var out []string
	for _, x := range xs {
		if n := name(x); n != "" {
			out = append(out, n)
		}
	}
	return out
}

func logins(us []*github.User) []string      { return names(us, (*github.User).GetLogin) }
func labelNames(ls []*github.Label) []string { return names(ls, (*github.Label).GetName) }
func teamNames(ts []*github.Team) []string   { return names(ts, teamName) }

func teamName(t *github.Team) string {
	if s := t.GetSlug(); s != "" {
		return s
	}
	return t.GetName()
}

func boolPtr(b bool) *bool { return &b }
