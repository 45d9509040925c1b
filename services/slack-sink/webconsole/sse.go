package webconsole

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// keepAlive is how often an idle live stream sends a comment, so proxies
// and the browser keep it open.
const keepAlive = 20 * time.Second

// stream starts a Server-Sent Events response; ok is false (and the
// request answered) when it cannot.
func (c *Console) stream(w http.ResponseWriter) (send func(event, data string) error, done func(), ok bool) {
	if c.streams.Add(1) > int64(c.opts.MaxStreams) {
		c.streams.Add(-1)
		http.Error(w, "too many live views open", http.StatusServiceUnavailable)
		return nil, nil, false
	}
	rc := http.NewResponseController(w)
	// The operations server's read and write timeouts would cut a live
	// view (a read deadline passing cancels the request).
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	send = func(event, data string) error {
		var b strings.Builder
		if event != "" {
			fmt.Fprintf(&b, "event: %s\n", event)
		}
		for _, l := range strings.Split(data, "\n") {
			fmt.Fprintf(&b, "data: %s\n", l)
		}
		b.WriteString("\n")
		if _, err := w.Write([]byte(b.String())); err != nil {
			return err
		}
		return rc.Flush()
	}
	return send, func() { c.streams.Add(-1) }, true
}

// deliveryEvents streams the id of each delivery something happens to
// (event "delivery"); with ?delivery=ID only that one's.
func (c *Console) deliveryEvents(w http.ResponseWriter, r *http.Request) {
	if c.src.Changes == nil {
		http.Error(w, "no live feed here", http.StatusNotFound)
		return
	}
	only := r.URL.Query().Get("delivery")
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	ids, err := c.src.Changes.Watch(ctx)
	if err != nil {
		c.opts.Log.Warn().Err(err).Msg("console live feed failed")
		http.Error(w, "the live feed is not available", http.StatusBadGateway)
		return
	}
	send, done, ok := c.stream(w)
	if !ok {
		return
	}
	defer done()
	if send("ready", "") != nil {
		return
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil {
				return
			}
			_ = http.NewResponseController(w).Flush()
		case id := <-ids:
			if only != "" && id != only {
				continue
			}
			if send("delivery", id) != nil {
				return
			}
		}
	}
}

// inboxEvents streams each new inbox message, drawn (event "message",
// its id the inbox sequence).
func (c *Console) inboxEvents(w http.ResponseWriter, r *http.Request) {
	if c.src.Inbox == nil {
		http.Error(w, "no inbox here", http.StatusNotFound)
		return
	}
	msgs, unsubscribe := c.src.Inbox.Subscribe()
	defer unsubscribe()
	send, done, ok := c.stream(w)
	if !ok {
		return
	}
	defer done()
	if send("ready", "") != nil {
		return
	}
	t, err := c.lookupTemplate("inbox")
	if err != nil {
		return
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := w.Write([]byte(": keep-alive\n\n")); err != nil {
				return
			}
			_ = http.NewResponseController(w).Flush()
		case m := <-msgs:
			var b strings.Builder
			item := map[string]any{"Seq": m.Seq, "At": m.At, "EventID": m.EventID, "Kind": m.Kind, "Destination": m.Destination, "HTML": drawSlack(m.Message)}
			if err := t.ExecuteTemplate(&b, "message", item); err != nil {
				c.opts.Log.Warn().Err(err).Msg("drawing an inbox message failed")
				continue
			}
			if send("message", b.String()) != nil {
				return
			}
		}
	}
}
