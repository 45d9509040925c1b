package gateway

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// readyDeduper returns a Deduper whose (empty) index counts as complete.
func readyDeduper(bodies bool) *Deduper {
	d := NewDeduper(bodies, time.Hour, zerolog.Nop())
	d.markReady()
	return d
}

func TestDeduperSeen(t *testing.T) {
	t.Parallel()
	sum := sha256hex("body")
	tests := []struct {
		name     string
		bodies   bool
		remember [][2]string // delivery id, body digest
		id, sum  string
		want     string
	}{
		{name: "unknown", bodies: true, id: "new", sum: sum, want: ""},
		{name: "same id", bodies: true, remember: [][2]string{{"id/with spaces", sum}}, id: "id/with spaces", sum: "ff", want: ReasonDeliveryID},
		{name: "same body, new id", bodies: true, remember: [][2]string{{"first", sum}}, id: "second", sum: sum, want: ReasonBody},
		{name: "id wins over body", bodies: true, remember: [][2]string{{"first", sum}}, id: "first", sum: sum, want: ReasonDeliveryID},
		{name: "same body with body dedupe off", bodies: false, remember: [][2]string{{"first", sum}}, id: "second", sum: sum, want: ""},
		{name: "same id with body dedupe off", bodies: false, remember: [][2]string{{"first", sum}}, id: "first", sum: "ee", want: ReasonDeliveryID},
		{name: "remembered twice", bodies: true, remember: [][2]string{{"a", sum}, {"a", sum}}, id: "b", sum: sum, want: ReasonBody},
		{name: "other id and body", bodies: true, remember: [][2]string{{"a", sum}}, id: "b", sum: "ee", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := readyDeduper(tt.bodies)
			for _, r := range tt.remember {
				d.Remember(r[0], r[1])
			}
			got, err := d.Seen(context.Background(), tt.id, tt.sum)
			if err != nil || got != tt.want {
				t.Fatalf("Seen(%q, %q) = %q, %v; want %q", tt.id, tt.sum, got, err, tt.want)
			}
		})
	}
}

func TestDeduperNotReadyFails(t *testing.T) {
	t.Parallel()
	d := NewDeduper(true, time.Hour, zerolog.Nop())
	d.Remember("known", "00")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if r, err := d.Seen(ctx, "known", "00"); !errors.Is(err, ErrIndexNotReady) || r != "" {
		t.Fatalf("Seen before the index is ready = %q, %v; want ErrIndexNotReady", r, err)
	}
}

func TestKeyIndexPrune(t *testing.T) {
	t.Parallel()
	x := newKeyIndex(time.Hour)
	now := time.Unix(1_000_000, 0)
	x.add("old", now.Add(-time.Hour-time.Second))
	x.add("recent", now.Add(-time.Hour))
	x.add("renewed", now.Add(-2*time.Hour))
	x.add("renewed", now.Add(-time.Minute))
	x.add("renewed", now.Add(-3*time.Hour)) // an older copy read later keeps the newer time
	x.prune(now)
	if x.has("old") || !x.has("recent") || !x.has("renewed") || x.len() != 2 {
		t.Fatalf("after prune: old=%v recent=%v renewed=%v len=%d", x.has("old"), x.has("recent"), x.has("renewed"), x.len())
	}
}

// publishDelivery stores a delivery in the raw stream directly, as another
// gateway of a version before Ghnotify-Body-Key would (the body identified
// by the payload's SHA-256 in Ghnotify-Content-Sha256), and returns its
// stream sequence.
func publishDelivery(t *testing.T, js jetstream.JetStream, id, body string) uint64 {
	t.Helper()
	d := &delivery.Delivery{Event: "issues", ID: id, SHA256: sha256hex(body), ReceivedAt: time.Now(), Body: []byte(body)}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ack, err := js.PublishMsg(ctx, d.Msg())
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

// follow runs d.Follow until the test ends.
func follow(t *testing.T, d *Deduper, js jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Follow(ctx, js); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestDeduperReplaysAndFollowsRawStream checks that a lookup made before the
// index is rebuilt waits for it (answering from an empty index would say
// "not seen"), and that deliveries stored later by someone else reach the
// index.
func TestDeduperReplaysAndFollowsRawStream(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	const n = 500
	var last uint64
	for i := range n {
		last = publishDelivery(t, ns.JS, fmt.Sprintf("stored-%d", i), fmt.Sprintf(`{"n":%d}`, i))
	}
	lastID, lastBody := fmt.Sprintf("stored-%d", n-1), fmt.Sprintf(`{"n":%d}`, n-1)

	d := NewDeduper(true, time.Hour, zerolog.Nop())
	type answer struct {
		reason string
		err    error
	}
	answers := make(chan answer, 2)
	go func() {
		r, err := d.Seen(context.Background(), lastID, "ee")
		answers <- answer{r, err}
	}()
	go func() {
		r, err := d.Seen(context.Background(), "new-id", sha256hex(lastBody))
		answers <- answer{r, err}
	}()
	if d.Ready() {
		t.Fatal("index ready before following the stream")
	}
	follow(t, d, ns.JS)
	want := map[string]bool{ReasonDeliveryID: true, ReasonBody: true}
	for range 2 {
		a := <-answers
		if a.err != nil || !want[a.reason] {
			t.Fatalf("lookup made during the replay = %q, %v", a.reason, a.err)
		}
		delete(want, a.reason)
	}
	if !d.Ready() || d.LastSequence() < last {
		t.Fatalf("ready=%v at sequence %d, want at least %d", d.Ready(), d.LastSequence(), last)
	}
	if got := d.Len(); got != 2*n {
		t.Fatalf("index holds %d keys, want %d", got, 2*n)
	}

	// Another gateway stores a delivery: it reaches the index.
	seq := publishDelivery(t, ns.JS, "foreign", `{"foreign":true}`)
	natstest.WaitFor(t, 10*time.Second, "the foreign delivery in the index", func() bool { return d.LastSequence() >= seq })
	for _, c := range []struct{ id, sum, want string }{
		{"foreign", "ee", ReasonDeliveryID},
		{"other", sha256hex(`{"foreign":true}`), ReasonBody},
		{"other", "ee", ""},
	} {
		if r, err := d.Seen(context.Background(), c.id, c.sum); err != nil || r != c.want {
			t.Fatalf("Seen(%s, %s) = %q, %v; want %q", c.id, c.sum, r, err, c.want)
		}
	}
}

// TestDeduperIgnoresDeliveriesPastHorizon stores a delivery, then follows
// the stream with a horizon shorter than its age: nothing is within the
// horizon, so the index is ready at once and the delivery is forgotten.
func TestDeduperIgnoresDeliveriesPastHorizon(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	publishDelivery(t, ns.JS, "old", `{"old":true}`)
	d := NewDeduper(true, time.Nanosecond, zerolog.Nop())
	follow(t, d, ns.JS)
	natstest.WaitFor(t, 10*time.Second, "the index to be ready", d.Ready)
	if r, err := d.Seen(context.Background(), "old", sha256hex(`{"old":true}`)); err != nil || r != "" {
		t.Fatalf("Seen(delivery past the horizon) = %q, %v", r, err)
	}
}

func TestDeduperEmptyStreamReady(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	d := NewDeduper(true, time.Hour, zerolog.Nop())
	follow(t, d, ns.JS)
	natstest.WaitFor(t, 10*time.Second, "the index of an empty stream to be ready", d.Ready)
	if r, err := d.Seen(context.Background(), "x", "00"); err != nil || r != "" {
		t.Fatalf("Seen on an empty stream = %q, %v", r, err)
	}
}

// TestKeyIndexCheckHash plants, under a key's 64-bit hash, an entry whose
// check hash differs, as a second key colliding on the 64-bit hash would
// leave: the key is not taken as present, and adding it replaces the
// entry (the other key is forgotten, nothing is falsely found).
func TestKeyIndexCheckHash(t *testing.T) {
	t.Parallel()
	x := newKeyIndex(time.Hour)
	now := time.Unix(1_000_000, 0)
	h, check := x.hash(DeliveryKey("new"))
	x.keys.put(h, keyEntry{check: check ^ 1, at: unixSeconds(now)})
	if x.has(DeliveryKey("new")) {
		t.Fatal("a key sharing only the 64-bit hash was taken as present")
	}
	x.add(DeliveryKey("new"), now.Add(-time.Minute))
	if e, _ := x.keys.get(h); !x.has(DeliveryKey("new")) || x.len() != 1 || e.check != check {
		t.Fatalf("after add: has=%v len=%d entry=%+v", x.has(DeliveryKey("new")), x.len(), e)
	}
}

// TestFromHeadersReadsOlderBodyDigest checks that messages stored by
// versions before Ghnotify-Body-Key still give their body's key, so that an
// upgrade keeps the index.
func TestFromHeadersReadsOlderBodyDigest(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		h    nats.Header
		want string
	}{
		"body key":      {nats.Header{delivery.HeaderDelivery: {"d"}, delivery.HeaderBodyKey: {"aa"}}, "aa"},
		"older version": {nats.Header{delivery.HeaderDelivery: {"d"}, delivery.HeaderContentSHA256: {"bb"}}, "bb"},
		"both":          {nats.Header{delivery.HeaderDelivery: {"d"}, delivery.HeaderBodyKey: {"aa"}, delivery.HeaderContentSHA256: {"bb"}}, "aa"},
		"neither":       {nats.Header{delivery.HeaderDelivery: {"d"}}, ""},
	} {
		if id, key := fromHeaders(tt.h); id != "d" || key != tt.want {
			t.Errorf("%s: fromHeaders = %q, %q; want d, %q", name, id, key, tt.want)
		}
	}
}

// TestFollowSkipsOnlyOwnMessages checks that a raw message this gateway
// stored and remembered itself is not added twice, and that any other
// message, including one whose sequence shares its slot, still is.
func TestFollowSkipsOnlyOwnMessages(t *testing.T) {
	t.Parallel()
	d := readyDeduper(true)
	_, k, err := d.lookup(t.Context(), "own", "aa")
	if err != nil {
		t.Fatal(err)
	}
	d.rememberKeys(k, 7)
	if !d.isOwn(7) || d.isOwn(8) || d.isOwn(7+ownSlots) {
		t.Fatal("own sequences not told apart")
	}
	now := time.Now()
	d.index(rawHeaders{seq: 7, deliveryID: "own", bodyKey: "aa", storedAt: now}, 0)
	d.index(rawHeaders{seq: 8, deliveryID: "other", bodyKey: "bb", storedAt: now}, 0)
	d.index(rawHeaders{seq: 7 + ownSlots, deliveryID: "later", bodyKey: "cc", storedAt: now}, 0)
	for _, c := range []struct{ id, key, want string }{
		{"own", "", ReasonDeliveryID}, {"x", "aa", ReasonBody},
		{"other", "", ReasonDeliveryID}, {"y", "bb", ReasonBody},
		{"later", "", ReasonDeliveryID}, {"z", "cc", ReasonBody},
	} {
		if r, err := d.Seen(t.Context(), c.id, c.key); err != nil || r != c.want {
			t.Errorf("Seen(%s, %s) = %q, %v; want %q", c.id, c.key, r, err, c.want)
		}
	}
	if d.Len() != 6 || d.LastSequence() != 7+ownSlots {
		t.Fatalf("len %d, last sequence %d", d.Len(), d.LastSequence())
	}
}

// TestTailReadsOnlyWhatOthersStored checks the index's tail of the raw
// stream once it is complete: messages of other instances are read (over
// removed ones), this gateway's own are passed over by sequence, and the
// last sequence read moves past removed messages at the end.
func TestTailReadsOnlyWhatOthersStored(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	ctx := t.Context()
	s, err := ns.JS.Stream(ctx, provision.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	d := readyDeduper(true)
	now := time.Unix(1_000_000, 0)
	look, _ := tailLooks(t, d, ns.JS, s, &now)
	seen := func(id, key, want string) {
		t.Helper()
		if r, err := d.Seen(ctx, id, key); err != nil || r != want {
			t.Fatalf("Seen(%s, %s) = %q, %v; want %q", id, key, r, err, want)
		}
	}

	// Three messages of another instance, the middle one removed.
	for _, id := range []string{"a", "b", "c"} {
		publishDelivery(t, ns.JS, id, `{"id":"`+id+`"}`)
	}
	if err := s.DeleteMsg(ctx, 2); err != nil {
		t.Fatal(err)
	}
	look() // learns the stream's end
	seen("a", "", "")
	look() // reads up to it
	seen("a", "", ReasonDeliveryID)
	seen("c", "", ReasonDeliveryID)
	seen("x", sha256hex(`{"id":"c"}`), ReasonBody)
	if d.LastSequence() != 3 {
		t.Fatalf("last sequence %d, want 3", d.LastSequence())
	}

	// This gateway's own message (remembered under another id, to tell
	// whether it is read back): passed over.
	_, k, err := d.lookup(ctx, "own-remembered", "")
	if err != nil {
		t.Fatal(err)
	}
	d.rememberKeys(k, 4)
	publishDelivery(t, ns.JS, "own", `{"id":"own"}`)
	look()
	look()
	seen("own-remembered", "", ReasonDeliveryID)
	seen("own", "", "")
	if d.LastSequence() != 4 {
		t.Fatalf("last sequence %d, want 4", d.LastSequence())
	}

	// Messages removed before they were read, at the stream's end.
	for _, id := range []string{"e", "f"} {
		publishDelivery(t, ns.JS, id, `{"id":"`+id+`"}`)
	}
	look()
	for seq := uint64(5); seq <= 6; seq++ {
		if err := s.DeleteMsg(ctx, seq); err != nil {
			t.Fatal(err)
		}
	}
	look()
	seen("e", "", "")
	if d.LastSequence() != 6 {
		t.Fatalf("last sequence %d, want 6", d.LastSequence())
	}

	// A purge before the message was read.
	publishDelivery(t, ns.JS, "g", `{"id":"g"}`)
	look()
	if err := s.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	look()
	seen("g", "", "")
	if d.LastSequence() != 7 {
		t.Fatalf("last sequence %d after a purge, want 7", d.LastSequence())
	}
	// The consumer is kept until a quiet period has passed.
	if n := consumers(t, s); n != 1 {
		t.Fatalf("%d consumers before the quiet period, want 1", n)
	}
	now = now.Add(tailQuiet)
	look()
	if n := consumers(t, s); n != 0 {
		t.Fatalf("%d consumers left after the quiet period", n)
	}
}

// consumers returns how many consumers the stream has.
func consumers(t *testing.T, s jetstream.Stream) int {
	t.Helper()
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Consumers
}

// TestTailKeepsOneConsumerWhileOthersStore checks that the tail creates
// one consumer for a run of looks that each find another instance's
// message (counted from the server's advisories), passes over this
// gateway's own messages it delivers, replaces it when it lost a message
// without missing that message or when too many own messages lie before
// the next other one, deletes it only after a quiet period, and creates
// none while only this gateway stores.
func TestTailKeepsOneConsumerWhileOthersStore(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	ctx := t.Context()
	s, err := ns.JS.Stream(ctx, provision.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	created, err := ns.NC.SubscribeSync("$JS.EVENT.ADVISORY.CONSUMER.CREATED." + provision.StreamRaw + ".>")
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := ns.NC.SubscribeSync("$JS.EVENT.ADVISORY.CONSUMER.DELETED." + provision.StreamRaw + ".>")
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	count := func(sub *nats.Subscription) int {
		t.Helper()
		n, _, err := sub.Pending()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	d := readyDeduper(true)
	now := time.Unix(1_000_000, 0)
	look, tl := tailLooks(t, d, ns.JS, s, &now)
	seen := func(id, want string) {
		t.Helper()
		if r, err := d.Seen(ctx, id, ""); err != nil || r != want {
			t.Fatalf("Seen(%s) = %q, %v; want %q", id, r, err, want)
		}
	}
	own := func(id string) {
		t.Helper()
		_, k, err := d.lookup(ctx, id+"-remembered", "")
		if err != nil {
			t.Fatal(err)
		}
		seq := publishDelivery(t, ns.JS, id, `{"id":"`+id+`"}`)
		d.rememberKeys(k, seq)
	}

	// Fifty looks, each finding one message of another instance stored
	// after one of this gateway's own.
	look()
	for i := range 50 {
		own(fmt.Sprintf("own-%d", i))
		publishDelivery(t, ns.JS, fmt.Sprintf("other-%d", i), fmt.Sprintf(`{"other":%d}`, i))
		look()
	}
	look()
	for i := range 50 {
		seen(fmt.Sprintf("other-%d", i), ReasonDeliveryID)
		seen(fmt.Sprintf("own-%d", i), "")
	}
	if d.LastSequence() != 100 {
		t.Fatalf("last sequence %d, want 100", d.LastSequence())
	}
	if n := consumers(t, s); n != 1 {
		t.Fatalf("%d consumers, want 1", n)
	}

	// A message the consumer delivered but the index did not receive:
	// the look fails, and the next one reads it with a new consumer.
	publishDelivery(t, ns.JS, "lost", `{"id":"lost"}`)
	look()
	b, err := tl.c.Fetch(1)
	if err != nil {
		t.Fatal(err)
	}
	for range b.Messages() {
	}
	publishDelivery(t, ns.JS, "after", `{"id":"after"}`)
	now = now.Add(tailEvery)
	if err := tl.tail(ctx, d, ns.JS, s, now); err == nil {
		t.Fatal("a look after a lost message did not fail")
	}
	seen("lost", "")
	look()
	look()
	seen("lost", ReasonDeliveryID)
	seen("after", ReasonDeliveryID)

	// More than tailLag own messages before the next other one: a new
	// consumer starts after them rather than delivering them all.
	for i := range tailLag + 1 {
		own(fmt.Sprintf("many-%d", i))
	}
	publishDelivery(t, ns.JS, "past-many", `{"id":"past-many"}`)
	look()
	look()
	seen("past-many", ReasonDeliveryID)
	seen("many-0", "")
	if n := consumers(t, s); n != 1 {
		t.Fatalf("%d consumers, want 1", n)
	}

	// Quiet (only this gateway's own messages): kept for tailQuiet.
	own("quiet")
	for now.Sub(tl.lastOther) < tailQuiet-tailEvery {
		look()
	}
	if n := consumers(t, s); n != 1 {
		t.Fatalf("%d consumers before the quiet period ended, want 1", n)
	}
	look()
	if n := consumers(t, s); n != 0 {
		t.Fatalf("%d consumers after the quiet period, want 0", n)
	}
	seen("quiet", "")

	// Alone on the stream again: nothing read, no consumer created.
	own("alone-1")
	own("alone-2")
	look()
	look()
	look()
	if n := consumers(t, s); n != 0 {
		t.Fatalf("%d consumers with only this gateway's messages, want 0", n)
	}
	seen("alone-1", "")

	// Three consumers created (after the lost message, after the own
	// messages) and three deleted; the advisories of one consumer arrive
	// in order.
	natstest.WaitFor(t, 10*time.Second, "three deletion advisories", func() bool { return count(deleted) >= 3 })
	if c, dl := count(created), count(deleted); c != 3 || dl != 3 {
		t.Fatalf("%d consumers created and %d deleted, want 3 and 3", c, dl)
	}
}

// tailLooks returns a function making one look of a tailer at the raw
// stream s, moving *now on by tailEvery first, and the tailer.
func tailLooks(t *testing.T, d *Deduper, js jetstream.JetStream, s jetstream.Stream, now *time.Time) (func(), *tailer) {
	tl := &tailer{}
	return func() {
		t.Helper()
		*now = now.Add(tailEvery)
		if err := tl.tail(t.Context(), d, js, s, *now); err != nil {
			t.Fatal(err)
		}
	}, tl
}
