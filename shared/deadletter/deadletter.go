// Package deadletter writes messages that a stage could not process to the
// dead-letter stream, with the reason and the original headers, so that
// nothing is lost and an operator can inspect and replay them.
package deadletter

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ghnotify/ghnotify/shared/subject"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Headers a dead letter carries besides the original message's own.
const (
	HeaderReason   = "Ghnotify-Dlq-Reason"
	HeaderStage    = "Ghnotify-Dlq-Stage"
	HeaderSubject  = "Ghnotify-Dlq-Subject"
	HeaderStream   = "Ghnotify-Dlq-Stream"
	HeaderSequence = "Ghnotify-Dlq-Sequence"
	HeaderTime     = "Ghnotify-Dlq-Time"
	// HeaderOriginalMsgID keeps the original Nats-Msg-Id, which the dead
	// letter itself cannot carry (it gets an id of its own).
	HeaderOriginalMsgID = "Ghnotify-Dlq-Msg-Id"
)

// Letter is one dead letter.
type Letter struct {
	// Stage is the stage that gave up: normalizer or slack-sink.
	Stage string
	// Subject is the original subject.
	Subject string
	// Stream and Sequence locate the original message, where known.
	Stream   string
	Sequence uint64
	// Data and Header are the original body and headers.
	Data   []byte
	Header nats.Header
	// Reason says why the stage gave up.
	Reason string
	// ID dedupes the dead letter itself; FromMsg derives it from the stage and
	// the original stream sequence, so dead-lettering twice stores it once.
	ID string
}

// FromMsg builds the letter for a JetStream message.
func FromMsg(stage string, msg jetstream.Msg, reason string) Letter {
	l := Letter{Stage: stage, Subject: msg.Subject(), Data: msg.Data(), Header: msg.Headers(), Reason: reason}
	if md, err := msg.Metadata(); err == nil {
		l.Stream = md.Stream
		l.Sequence = md.Sequence.Stream
		l.ID = stage + ":" + md.Stream + ":" + strconv.FormatUint(md.Sequence.Stream, 10)
	}
	return l
}

// Publisher publishes letters to the dead-letter stream.
type Publisher struct {
	JS jetstream.JetStream
}

// Publish stores l in the dead-letter stream and waits for the PubAck.
func (p *Publisher) Publish(ctx context.Context, l Letter) error {
	m := nats.NewMsg(subject.DLQ(l.Stage, l.Subject))
	m.Data = l.Data
	for k, vs := range l.Header {
		if k == jetstream.MsgIDHeader {
			m.Header[HeaderOriginalMsgID] = vs
			continue
		}
		m.Header[k] = append([]string(nil), vs...)
	}
	m.Header.Set(HeaderReason, l.Reason)
	m.Header.Set(HeaderStage, l.Stage)
	m.Header.Set(HeaderSubject, l.Subject)
	if l.Stream != "" {
		m.Header.Set(HeaderStream, l.Stream)
		m.Header.Set(HeaderSequence, strconv.FormatUint(l.Sequence, 10))
	}
	m.Header.Set(HeaderTime, time.Now().UTC().Format(time.RFC3339Nano))
	var opts []jetstream.PublishOpt
	if l.ID != "" {
		opts = append(opts, jetstream.WithMsgID(l.ID))
	}
	if _, err := p.JS.PublishMsg(ctx, m, opts...); err != nil {
		return fmt.Errorf("publishing dead letter for %s: %w", l.Subject, err)
	}
	return nil
}
