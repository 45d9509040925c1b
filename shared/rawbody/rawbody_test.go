package rawbody_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/rawbody"
	"github.com/nats-io/nats-server/v2/server"
)

func TestOffloadAndLoad(t *testing.T) {
	t.Parallel()
	// A 1 MiB max_payload: the same offloading as at 32 MiB, with a body
	// of a size that is quick to store and compare under -race.
	s := natstest.StartWith(t, func(o *server.Options) { o.MaxPayload = 1 << 20 })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	small := []byte(`{"zen":"ok"}`)
	big := bytes.Repeat([]byte("x"), int(s.NC.MaxPayload())+1)
	if !rawbody.Fits(s.NC, len(small)) || rawbody.Fits(s.NC, len(big)) {
		t.Fatalf("Fits misjudges sizes against max_payload %d", s.NC.MaxPayload())
	}
	d := delivery.Delivery{Event: "push", ID: "big-1", Body: big, ReceivedAt: time.Now()}
	m := d.Msg()
	if err := rawbody.Offload(ctx, s.JS, m, big); err != nil {
		t.Fatal(err)
	}
	if len(m.Data) != 0 || m.Header.Get(rawbody.HeaderRef) == "" {
		t.Fatalf("Offload left data %d bytes, ref %q", len(m.Data), m.Header.Get(rawbody.HeaderRef))
	}
	if _, err := s.JS.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	raw, err := s.JS.Stream(ctx, provision.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := raw.GetLastMsgForSubject(ctx, "github.raw.push")
	if err != nil {
		t.Fatal(err)
	}
	got, err := rawbody.Load(ctx, s.JS, stored.Header, stored.Data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, big) {
		t.Fatalf("loaded %d bytes, want the %d offloaded", len(got), len(big))
	}
	inline, err := rawbody.Load(ctx, s.JS, nil, small)
	if err != nil || !bytes.Equal(inline, small) {
		t.Fatalf("inline Load = %q, %v", inline, err)
	}
}
