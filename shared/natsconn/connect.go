// Package natsconn connects a ghnotify service to NATS: reconnect forever,
// a service started before NATS waits for it, the usual NATS auth options,
// and connection events in the log.
package natsconn

import (
	"fmt"
	neturl "net/url"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// Config says where NATS is and how to authenticate.
type Config struct {
	// URL is one or more comma-separated server URLs (NATS_URL).
	URL string
	// CredsFile is a NATS credentials file (NATS_CREDS).
	CredsFile string
	// NKeyFile is an NKey seed file (NATS_NKEY).
	NKeyFile string
	// User and Password authenticate with a user (NATS_USER, NATS_PASSWORD).
	User     string
	Password config.Secret
	// Token authenticates with a token (NATS_TOKEN).
	Token config.Secret
	// CAFile verifies the server's certificate (NATS_CA).
	CAFile string
	// CertFile and KeyFile are a client certificate (NATS_CERT, NATS_KEY).
	CertFile string
	KeyFile  string
}

// FromEnv reads the NATS connection settings, using the variable names of the
// nats CLI where it has them.
func FromEnv(e *config.Env) Config {
	return Config{
		URL:       e.String("NATS_URL", ""),
		CredsFile: e.String("NATS_CREDS", ""),
		NKeyFile:  e.String("NATS_NKEY", ""),
		User:      e.String("NATS_USER", ""),
		Password:  e.Secret("NATS_PASSWORD", ""),
		Token:     e.Secret("NATS_TOKEN", ""),
		CAFile:    e.String("NATS_CA", ""),
		CertFile:  e.String("NATS_CERT", ""),
		KeyFile:   e.String("NATS_KEY", ""),
	}
}

// HasCredentials reports whether cfg authenticates the connection: a
// credentials file, an NKey, a user, a token, a client certificate, or a
// user in the URL.
func (c Config) HasCredentials() bool {
	if c.CredsFile != "" || c.NKeyFile != "" || c.User != "" || c.Token.IsSet() || c.CertFile != "" {
		return true
	}
	for _, u := range strings.Split(c.URL, ",") {
		if p, err := neturl.Parse(strings.TrimSpace(u)); err == nil && p.User != nil {
			return true
		}
	}
	return false
}

// Options returns the nats.go options for cfg: auth and TLS, reconnect forever,
// wait for a server that is not up yet, and log connection events.
func Options(name string, cfg Config, log zerolog.Logger) ([]nats.Option, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn().Err(err).Msg("nats disconnected")
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info().Str("server", nc.ConnectedUrlRedacted()).Msg("nats reconnected")
		}),
		nats.ConnectHandler(func(nc *nats.Conn) {
			log.Info().Str("server", nc.ConnectedUrlRedacted()).Msg("nats connected")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			ev := log.Warn().Err(err)
			if sub != nil {
				ev = ev.Str("subject", sub.Subject)
			}
			ev.Msg("nats async error")
		}),
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.NKeyFile != "" {
		o, err := nats.NkeyOptionFromSeed(cfg.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading nkey seed file: %w", err)
		}
		opts = append(opts, o)
	}
	if cfg.User != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password.Reveal()))
	}
	if cfg.Token.IsSet() {
		opts = append(opts, nats.Token(cfg.Token.Reveal()))
	}
	if cfg.CAFile != "" {
		opts = append(opts, nats.RootCAs(cfg.CAFile))
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		opts = append(opts, nats.ClientCert(cfg.CertFile, cfg.KeyFile))
	}
	return opts, nil
}

// Connect dials cfg.URL (nats.DefaultURL when empty). It returns at once even
// when no server answers yet; the connection keeps trying in the background.
func Connect(name string, cfg Config, log zerolog.Logger, extra ...nats.Option) (*Conn, error) {
	opts, err := Options(name, cfg, log)
	if err != nil {
		return nil, err
	}
	url := cfg.URL
	if url == "" {
		url = nats.DefaultURL
	}
	if !cfg.HasCredentials() {
		log.Warn().Msg("no NATS credentials are configured (NATS_NKEY, NATS_CREDS, NATS_USER and NATS_PASSWORD, or NATS_TOKEN): " +
			"a NATS server that admits this connection admits anyone who can reach it")
	}
	c, err := Tracked(func(tracking ...nats.Option) (*nats.Conn, error) {
		return nats.Connect(url, append(append(opts, extra...), tracking...)...)
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to nats: %w", err)
	}
	return c, nil
}

// RedactedURL is URL with the password or token of every server URL masked,
// for logs.
func (c Config) RedactedURL() string {
	parts := strings.Split(c.URL, ",")
	for i, u := range parts {
		p, err := neturl.Parse(strings.TrimSpace(u))
		if err != nil {
			parts[i] = config.Masked // unparsable: it may hold anything
			continue
		}
		if p.User == nil {
			continue
		}
		if _, ok := p.User.Password(); ok {
			p.User = neturl.UserPassword(p.User.Username(), config.Masked)
		} else {
			p.User = neturl.User(config.Masked) // a token in the user part
		}
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}
