package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ghnotify/ghnotify/shared/config"
)

const usage = `ghnotify receives GitHub webhooks, stores every delivery in NATS JetStream
and posts the events that matter to Slack.

Usage:
  ghnotify run                  run the gateway, normalizer and Slack sink in one
                                process around an embedded NATS server (or an
                                external one when NATS_URL is set)
  ghnotify send [flags] FILE    sign a JSON payload and post it to the gateway
                                exactly as GitHub would ("ghnotify send -h")
  ghnotify routes check FILE    validate a routes file
  ghnotify routes test ...      show which routes a payload matches and the
                                messages it would post ("ghnotify routes -h")
  ghnotify nats-context         write the nats CLI context "ghnotify" with the
                                credentials of ghnotify's NATS, for
                                "nats --context ghnotify ..."
  ghnotify version              print the version
  ghnotify help                 print this help

Configuration is read from the environment; see README.md for every variable.
The most common ones:
  GITHUB_WEBHOOK_SECRET   webhook secret (default: generated into the data directory)
  SLACK_WEBHOOK_URL       Slack incoming webhook (default: print notifications)
  GHNOTIFY_ROUTES         routes file
  GHNOTIFY_DATA_DIR       data directory of the embedded NATS server (./data)
  GHNOTIFY_HTTP_ADDR      gateway listen address (:8080)
  GHNOTIFY_NATS_LISTEN    embedded NATS client address (127.0.0.1:4222, "off");
                          clients authenticate with the nkey in the data directory
  GHNOTIFY_OPS_ADDR       /metrics address, apart from the webhook port (127.0.0.1:9093, "off")
  NATS_URL                use this NATS instead of the embedded one
`

// usageError is a mistake on the command line; it exits with status 2.
type usageError struct{ msg string }

// Error returns the mistake as it is shown to the user.
func (e usageError) Error() string { return e.msg }

// exitCode maps an error returned by run to the process exit status.
func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// run dispatches the subcommand named by args[0].
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookup config.Lookup) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return runCommand(ctx, rest, stdout, stderr, lookup)
	case "send":
		return sendCommand(ctx, rest, stdout, stderr, lookup)
	case "routes":
		return runRoutes(ctx, rest, stdout, stderr, lookup)
	case "nats-context":
		return natsContextCommand(ctx, rest, stdout, stderr, lookup)
	case "version", "-version", "--version":
		return printVersion(stdout)
	case "help", "-h", "-help", "--help":
		_, err := fmt.Fprint(stdout, usage)
		return err
	default:
		fmt.Fprint(stderr, usage)
		return usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
}
