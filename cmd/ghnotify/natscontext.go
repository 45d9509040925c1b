package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/natsconn"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
)

// defaultContextName is the nats CLI context `ghnotify nats-context` writes:
// `nats --context ghnotify ...`.
const defaultContextName = "ghnotify"

// natsCLIContext is a nats CLI context file, in the format of natscli
// v0.5.0 (github.com/nats-io/jsm.go/natscontext): one JSON file per context
// under $XDG_CONFIG_HOME/nats/context/<name>.json. Only one kind of
// credentials may be set.
type natsCLIContext struct {
	Description string `json:"description"`
	URL         string `json:"url"`
	User        string `json:"user,omitempty"`
	Password    string `json:"password,omitempty"`
	Token       string `json:"token,omitempty"`
	Creds       string `json:"creds,omitempty"`
	NKey        string `json:"nkey,omitempty"`
	Cert        string `json:"cert,omitempty"`
	Key         string `json:"key,omitempty"`
	CA          string `json:"ca,omitempty"`
}

// contextNameRE is what natscli accepts as a context name.
var contextNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// natsContextCommand is `ghnotify nats-context`: it writes a nats CLI
// context for the NATS that `ghnotify run` uses, so that `nats --context
// ghnotify ...` connects with the right credentials. For the embedded
// server that is the NKey seed file in the data directory (generated here
// if `ghnotify run` has not run yet); with NATS_URL set it is the NATS
// connection variables (NATS_USER and NATS_PASSWORD, NATS_NKEY, NATS_CREDS,
// NATS_TOKEN, NATS_CA, NATS_CERT, NATS_KEY).
func newNATSContextCommand(e cliEnv) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "nats-context [--name NAME]",
		Short: `Write the nats CLI context "ghnotify" with the credentials of ghnotify's NATS`,
		Long: `Writes a nats CLI context for the NATS server ghnotify uses, with its
credentials, to $XDG_CONFIG_HOME/nats/context/NAME.json (mode 0600). Then:
  nats --context ghnotify stream ls

Without NATS_URL it is the embedded server of "ghnotify run" (GHNOTIFY_NATS_LISTEN,
and the nkey in GHNOTIFY_DATA_DIR); with NATS_URL, that server and the NATS_*
credential variables.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return natsContextCommand(cmd.Context(), name, e.stdout, e.lookup)
		},
	}
	cmd.Flags().StringVar(&name, "name", defaultContextName, "context name: use it as nats --context NAME")
	return cmd
}

// natsContextCommand writes the context called name.
func natsContextCommand(_ context.Context, name string, stdout io.Writer, lookup config.Lookup) error {
	env := config.NewEnv(lookup)
	dataDir := env.String("GHNOTIFY_DATA_DIR", "./data")
	listen := env.String("GHNOTIFY_NATS_LISTEN", "127.0.0.1:4222")
	natsCfg := natsconn.FromEnv(env)
	configHome := env.String("XDG_CONFIG_HOME", "")
	home := env.String("HOME", "")
	if err := env.Err(); err != nil {
		return err
	}
	if !contextNameRE.MatchString(name) {
		return usageError{fmt.Sprintf("context name %q: use letters, digits, '.', '_' and '-'", name)}
	}

	var err error
	var nctx natsCLIContext
	if natsCfg.URL != "" {
		nctx, err = externalContext(natsCfg)
	} else {
		nctx, err = embeddedContext(dataDir, listen)
	}
	if err != nil {
		return err
	}

	dir, err := natsContextDir(configHome, home)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, name+".json")
	if err := writeContextFile(path, nctx); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "wrote nats CLI context %q to %s (%s)\nuse it with: nats --context %s stream ls\n",
		name, path, redactURLs(nctx.URL), name)
	return err
}

// redactURLs masks the password of each comma-separated URL that carries
// one (nats://user:password@host).
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			parts[i] = "(unparsable url)"
			continue
		}
		parts[i] = u.Redacted()
	}
	return strings.Join(parts, ",")
}

// embeddedContext is the context of the embedded server of `ghnotify run`.
func embeddedContext(dataDir, listen string) (natsCLIContext, error) {
	if listen == listenOff {
		return natsCLIContext{}, errors.New("GHNOTIFY_NATS_LISTEN is off: the embedded server listens for no client, so the nats CLI cannot reach it")
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return natsCLIContext{}, fmt.Errorf("GHNOTIFY_NATS_LISTEN %q: %w", listen, err)
	}
	if port == "0" {
		return natsCLIContext{}, errors.New("GHNOTIFY_NATS_LISTEN has port 0 (a free port chosen at start); give a fixed port to write a context for it")
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return natsCLIContext{}, fmt.Errorf("locating the data directory: %w", err)
	}
	key, err := ensureNATSKey(abs, zerolog.Nop())
	if err != nil {
		return natsCLIContext{}, err
	}
	return natsCLIContext{
		Description: "ghnotify run: embedded NATS, data directory " + abs,
		URL:         "nats://" + net.JoinHostPort(host, port),
		NKey:        key.SeedFile(),
	}, nil
}

// externalContext is the context of the NATS server in NATS_URL, with the
// NATS connection variables' credentials. Files are made absolute so the
// context works from any directory.
func externalContext(c natsconn.Config) (natsCLIContext, error) {
	abs := func(p string) (string, error) {
		if p == "" {
			return "", nil
		}
		a, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("locating %s: %w", p, err)
		}
		return a, nil
	}
	nctx := natsCLIContext{
		Description: "ghnotify: NATS at NATS_URL",
		URL:         c.URL,
		User:        c.User,
		Password:    c.Password.Reveal(),
		Token:       c.Token.Reveal(),
	}
	kinds := 0
	for _, set := range []bool{c.User != "" || c.Token.IsSet(), c.CredsFile != "", c.NKeyFile != ""} {
		if set {
			kinds++
		}
	}
	if kinds > 1 {
		return natsCLIContext{}, errors.New("the nats CLI takes one kind of credentials: set only one of NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_CREDS, NATS_NKEY")
	}
	var err error
	if nctx.Creds, err = abs(c.CredsFile); err != nil {
		return natsCLIContext{}, err
	}
	if nctx.NKey, err = abs(c.NKeyFile); err != nil {
		return natsCLIContext{}, err
	}
	if nctx.CA, err = abs(c.CAFile); err != nil {
		return natsCLIContext{}, err
	}
	if nctx.Cert, err = abs(c.CertFile); err != nil {
		return natsCLIContext{}, err
	}
	if nctx.Key, err = abs(c.KeyFile); err != nil {
		return natsCLIContext{}, err
	}
	return nctx, nil
}

// natsContextDir is where the nats CLI looks for contexts:
// $XDG_CONFIG_HOME/nats/context, else ~/.config/nats/context.
func natsContextDir(configHome, home string) (string, error) {
	if configHome == "" {
		if home == "" {
			return "", errors.New("neither XDG_CONFIG_HOME nor HOME is set: cannot tell where the nats CLI keeps its contexts")
		}
		configHome = filepath.Join(home, ".config")
	}
	return filepath.Join(configHome, "nats", "context"), nil
}

// writeContextFile writes the context readable by its owner only, replacing
// any previous file of that name atomically.
func writeContextFile(path string, nctx natsCLIContext) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating the nats context directory: %w", err)
	}
	b, err := json.MarshalIndent(nctx, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding nats context: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ghnotify-context-*")
	if err != nil {
		return fmt.Errorf("writing nats context: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing nats context: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	if err := errors.Join(werr, tmp.Close()); err != nil {
		return fmt.Errorf("writing nats context %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing nats context %s: %w", path, err)
	}
	return nil
}
