package slack

import (
	"context"
	"errors"
	"io"

	"github.com/ghnotify/ghnotify/services/slack-sink/deliver"
	"github.com/ghnotify/ghnotify/services/slack-sink/schedule"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack/message"
	"github.com/ghnotify/ghnotify/services/slack-sink/slack/slackapi"
)

// PostDigest posts the message of a digest.
func (p poster) PostDigest(ctx context.Context, b *schedule.Batch) (string, error) {
	resp, err := p.c.Post(ctx, slackapi.Request{Message: message.RenderDigest(b)})
	if err != nil {
		return "", classify(err)
	}
	return resp.TS, nil
}

// PostDigest writes a digest's lines.
func (c consolePoster) PostDigest(_ context.Context, b *schedule.Batch) (string, error) {
	consoleMu.Lock()
	defer consoleMu.Unlock()
	w := c.w
	if w == nil {
		w = io.Discard
	}
	if _, err := io.WriteString(w, message.RenderDigest(b).Text+"\n"); err != nil {
		return "", deliver.Fail(deliver.Transient, errors.New("writing to console: "+err.Error()))
	}
	return "", nil
}

var (
	_ deliver.DigestPoster = poster{}
	_ deliver.DigestPoster = consolePoster{}
)
