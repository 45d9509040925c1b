package deadletter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/ghnotify/ghnotify/shared/replay"
	"github.com/ghnotify/ghnotify/shared/streamscan"
	"github.com/ghnotify/ghnotify/shared/subject"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// HeaderDestination names the destination on a dead letter of the sink.
const HeaderDestination = "Ghnotify-Destination"

// Info is one dead letter as the operations commands and the console
// show it: what its headers say.
type Info struct {
	Sequence    uint64    `json:"sequence"`
	Time        time.Time `json:"time"`
	Stage       string    `json:"stage"`
	DeliveryID  string    `json:"delivery_id,omitempty"`
	Event       string    `json:"event,omitempty"`
	Kind        string    `json:"kind,omitempty"`
	Subject     string    `json:"subject"`
	Destination string    `json:"destination,omitempty"`
	Reason      string    `json:"reason"`
	MsgID       string    `json:"msg_id,omitempty"`
	Stream      string    `json:"stream,omitempty"`
	StreamSeq   uint64    `json:"stream_sequence,omitempty"`
	Replay      string    `json:"replay,omitempty"`
}

// InfoOf reads a dead letter's headers.
func InfoOf(seq uint64, stored time.Time, h nats.Header) Info {
	d := Info{
		Sequence:    seq,
		Time:        stored.UTC(),
		Stage:       h.Get(HeaderStage),
		DeliveryID:  h.Get(delivery.HeaderDelivery),
		Event:       h.Get(delivery.HeaderEvent),
		Kind:        h.Get(event.HeaderKind),
		Subject:     h.Get(HeaderSubject),
		Destination: h.Get(HeaderDestination),
		Reason:      h.Get(HeaderReason),
		MsgID:       h.Get(HeaderOriginalMsgID),
		Stream:      h.Get(HeaderStream),
		Replay:      replay.ID(h),
	}
	d.StreamSeq, _ = strconv.ParseUint(h.Get(HeaderSequence), 10, 64)
	if t, err := time.Parse(time.RFC3339Nano, h.Get(HeaderTime)); err == nil {
		d.Time = t.UTC()
	}
	return d
}

// List returns the dead letters stored since since (zero: all), oldest
// first, of one stage when stage is set.
func List(ctx context.Context, js jetstream.JetStream, since time.Time, stage string) ([]Info, error) {
	filter := []string{subject.DLQAll}
	if stage != "" {
		filter = []string{subject.DLQPrefix + "." + stage + ".>"}
	}
	var out []Info
	err := streamscan.Scan(ctx, js, provision.StreamDLQ, streamscan.Options{Filters: filter, Since: since, HeadersOnly: true}, func(m jetstream.Msg) error {
		md, err := m.Metadata()
		if err != nil {
			return err
		}
		out = append(out, InfoOf(md.Sequence.Stream, md.Timestamp, m.Headers()))
		return nil
	})
	return out, err
}

// ErrNotFound is returned for a dead letter the stream does not hold.
var ErrNotFound = errors.New("no such dead letter")

// Get reads one dead letter with its body.
func Get(ctx context.Context, js jetstream.JetStream, seq uint64) (*jetstream.RawStreamMsg, error) {
	s, err := js.Stream(ctx, provision.StreamDLQ)
	if err != nil {
		return nil, fmt.Errorf("opening stream %s: %w", provision.StreamDLQ, err)
	}
	m, err := s.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, fmt.Errorf("dead letter %d: %w", seq, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading dead letter %d: %w", seq, err)
	}
	return m, nil
}

// RedriveMsg builds the message that sends a dead letter back to its
// stage: the original subject, body and headers, marked as a replay with
// the id redrive-<sequence> (so redriving it twice posts once), limited to
// the destination that failed, under a fresh Nats-Msg-Id.
func RedriveMsg(seq uint64, m *jetstream.RawStreamMsg) (*nats.Msg, error) {
	subj := m.Header.Get(HeaderSubject)
	if subj == "" {
		return nil, fmt.Errorf("dead letter %d names no original subject (%s)", seq, HeaderSubject)
	}
	out := nats.NewMsg(subj)
	out.Data = m.Data
	for k, vs := range m.Header {
		if strings.HasPrefix(k, "Ghnotify-Dlq-") || k == HeaderDestination || k == jetstream.MsgIDHeader || k == replay.HeaderID || k == replay.HeaderTo {
			continue
		}
		out.Header[k] = append([]string(nil), vs...)
	}
	id := "redrive-" + strconv.FormatUint(seq, 10)
	out.Header.Set(replay.HeaderID, id)
	if d := m.Header.Get(HeaderDestination); d != "" {
		out.Header.Set(replay.HeaderTo, d)
	}
	orig := m.Header.Get(HeaderOriginalMsgID)
	if orig == "" {
		orig = m.Header.Get(delivery.HeaderDelivery)
	}
	out.Header.Set(jetstream.MsgIDHeader, replay.MsgID(orig, id))
	return out, nil
}

// Redriven says what one redrive did.
type Redriven struct {
	Info
	// To is the subject the dead letter was published on again.
	To string `json:"to"`
}

// Redrive publishes dead letter seq again on its original subject (see
// RedriveMsg) unless dryRun, then removes it from the dead-letter stream
// once the stage's stream has stored it. publishTimeout bounds the publish.
func Redrive(ctx context.Context, js jetstream.JetStream, seq uint64, dryRun bool, publishTimeout time.Duration) (Redriven, error) {
	m, err := Get(ctx, js, seq)
	if err != nil {
		return Redriven{}, err
	}
	out, err := RedriveMsg(seq, m)
	if err != nil {
		return Redriven{}, err
	}
	r := Redriven{Info: InfoOf(seq, m.Time, m.Header), To: out.Subject}
	if dryRun {
		return r, nil
	}
	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	_, err = js.PublishMsg(pctx, out)
	cancel()
	if err != nil {
		return r, fmt.Errorf("redriving dead letter %d: %w", seq, err)
	}
	s, err := js.Stream(ctx, provision.StreamDLQ)
	if err == nil {
		err = s.DeleteMsg(ctx, seq)
	}
	if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return r, fmt.Errorf("removing redriven dead letter %d: %w (it was redriven; redriving it again posts nothing twice)", seq, err)
	}
	return r, nil
}
