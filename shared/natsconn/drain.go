package natsconn

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// Conn is a NATS connection whose close can be waited for, so that a
// service drains it (pending acks and publishes flushed, subscriptions
// finished) before it exits.
type Conn struct {
	*nats.Conn
	closed chan struct{}
}

// Tracked opens a connection with connect, passing it the option that lets
// DrainAndWait see the close. Use it for connections Connect does not make,
// such as in-process ones to an embedded server.
func Tracked(connect func(opts ...nats.Option) (*nats.Conn, error)) (*Conn, error) {
	closed := make(chan struct{})
	nc, err := connect(nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: nc, closed: closed}, nil
}

// DrainAndWait drains the connection and waits up to timeout for it to
// close; past the timeout it closes the connection outright and says so.
func (c *Conn) DrainAndWait(timeout time.Duration) error {
	if err := c.Drain(); err != nil {
		c.Close()
		if errors.Is(err, nats.ErrConnectionClosed) {
			return nil
		}
		return fmt.Errorf("draining nats connection: %w", err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.closed:
		return nil
	case <-t.C:
		c.Close()
		return fmt.Errorf("draining nats connection: not closed after %s", timeout)
	}
}
