package gateway

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/rs/zerolog"
)

// TestSnapshotManyKeys writes a snapshot of more keys than one frame holds
// while keys are being added (the table grows meanwhile): every key
// present when it started is in it.
func TestSnapshotManyKeys(t *testing.T) {
	t.Parallel()
	now := time.Unix(2_000_000, 0)
	x := newKeyIndex(time.Hour)
	const n = 3 * snapshotChunk
	for i := range n {
		x.add(DeliveryKey(fmt.Sprint(i)), now)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(x.encodeTo(pw, snapshotHeader{seq: 9})) }()
	var got []byte
	buf := make([]byte, 1000)
	for i := 0; ; i++ {
		if i < 200 {
			x.add(DeliveryKey(fmt.Sprint("later", i)), now)
		}
		k, err := pr.Read(buf)
		got = append(got, buf[:k]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	y, h, err := decodeIndex(got, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if !y.has(DeliveryKey(fmt.Sprint(i))) {
			t.Fatalf("key %d missing (sequence %d, %d keys)", i, h.seq, y.len())
		}
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Unix(2_000_000, 0)
	x := newKeyIndex(time.Hour)
	x.add(DeliveryKey("a"), now.Add(-time.Minute))
	x.add(BodyKey(sha256hex("a")), now.Add(-time.Minute))
	x.add(DeliveryKey("old"), now.Add(-2*time.Hour))
	created := time.Unix(1_000, 123)
	b := x.encode(snapshotHeader{seq: 42, streamCreated: created})
	y, h, err := decodeIndex(b, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if h.seq != 42 || !h.streamCreated.Equal(created) {
		t.Fatalf("header %+v", h)
	}
	if !y.has(DeliveryKey("a")) || !y.has(BodyKey(sha256hex("a"))) || y.has(DeliveryKey("b")) {
		t.Fatal("keys lost or invented in the round trip")
	}
	if y.has(DeliveryKey("old")) || y.len() != 2 {
		t.Fatalf("a key past the horizon was kept (len %d)", y.len())
	}
	for _, bad := range [][]byte{nil, []byte("junk"), b[:len(b)-1], append(append([]byte{}, b[:len(b)-5]...), b[len(b)-4:]...), append(append([]byte{}, b...), 0)} {
		if _, _, err := decodeIndex(bad, time.Hour, now); err == nil {
			t.Fatalf("damaged snapshot of %d bytes accepted", len(bad))
		}
	}
	flipped := append([]byte{}, b...)
	flipped[len(snapshotMagic)+48] ^= 1
	if _, _, err := decodeIndex(flipped, time.Hour, now); err == nil {
		t.Fatal("snapshot with a flipped bit accepted")
	}
}

// TestDeduperRestartsFromSnapshotAndTail stops a deduper (which writes a
// snapshot), stores more deliveries, and starts another: it starts from
// the snapshot, reads only the tail, and knows every delivery. A damaged
// snapshot, or one of another raw stream, is not used: the index is read
// from the stream and still knows everything.
func TestDeduperRestartsFromSnapshotAndTail(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	for i := range 20 {
		publishDelivery(t, ns.JS, fmt.Sprintf("early-%d", i), fmt.Sprintf(`{"early":%d}`, i))
	}
	d1 := NewDeduper(true, time.Hour, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d1.Follow(ctx, ns.JS); close(done) }()
	natstest.WaitFor(t, 10*time.Second, "the first index to read the stream", func() bool { return d1.Ready() && d1.LastSequence() == 20 })
	cancel()
	<-done // writes the snapshot

	tail := publishDelivery(t, ns.JS, "late", `{"late":true}`)
	check := func(t *testing.T, d *Deduper) {
		t.Helper()
		for _, c := range []struct{ id, sum, want string }{
			{"early-3", "ee", ReasonDeliveryID},
			{"other", sha256hex(`{"early":19}`), ReasonBody},
			{"late", "ee", ReasonDeliveryID},
			{"other", sha256hex(`{"late":true}`), ReasonBody},
			{"other", "ee", ""},
		} {
			if r, err := d.Seen(context.Background(), c.id, c.sum); err != nil || r != c.want {
				t.Fatalf("Seen(%s, %s) = %q, %v; want %q", c.id, c.sum, r, err, c.want)
			}
		}
	}

	d2 := NewDeduper(true, time.Hour, zerolog.Nop())
	follow(t, d2, ns.JS)
	natstest.WaitFor(t, 10*time.Second, "the second index to read the tail", func() bool { return d2.Ready() && d2.LastSequence() == tail })
	if got := d2.RestoredFrom(); got != 20 {
		t.Fatalf("second index started from snapshot sequence %d, want 20", got)
	}
	check(t, d2)

	obs, err := ns.JS.ObjectStore(t.Context(), provision.ObjectDedupe)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obs.PutBytes(t.Context(), snapshotObject, []byte("damaged")); err != nil {
		t.Fatal(err)
	}
	d3 := NewDeduper(true, time.Hour, zerolog.Nop())
	follow(t, d3, ns.JS)
	natstest.WaitFor(t, 10*time.Second, "the third index to read the stream", func() bool { return d3.Ready() && d3.LastSequence() == tail })
	if got := d3.RestoredFrom(); got != 0 {
		t.Fatalf("damaged snapshot used (sequence %d)", got)
	}
	check(t, d3)

	// A snapshot of another stream (another creation time) is not used.
	x := newKeyIndex(time.Hour)
	if _, err := obs.PutBytes(t.Context(), snapshotObject, x.encode(snapshotHeader{seq: 5, streamCreated: time.Unix(1, 0)})); err != nil {
		t.Fatal(err)
	}
	d4 := NewDeduper(true, time.Hour, zerolog.Nop())
	follow(t, d4, ns.JS)
	natstest.WaitFor(t, 10*time.Second, "the fourth index to read the stream", func() bool { return d4.Ready() && d4.LastSequence() == tail })
	if got := d4.RestoredFrom(); got != 0 {
		t.Fatalf("foreign snapshot used (sequence %d)", got)
	}
	check(t, d4)
}
