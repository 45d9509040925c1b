package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const rootLong = `ghnotify receives GitHub webhooks, stores every delivery in NATS JetStream
and posts the events that matter to Slack.

Configuration is read from the environment; see README.md for every variable.
The most common ones:
  GITHUB_WEBHOOK_SECRET   webhook secret (default: generated into the data directory)
  SLACK_WEBHOOK_URL       Slack incoming webhook (default: print notifications)
  GHNOTIFY_ROUTES         routes file
  GHNOTIFY_DATA_DIR       data directory of the embedded NATS server (./data)
  GHNOTIFY_HTTP_ADDR      gateway listen address (:8080)
  GHNOTIFY_NATS_LISTEN    embedded NATS client address (127.0.0.1:4222, "off");
                          clients authenticate with the nkey in the data directory
  GHNOTIFY_OPS_ADDR       /metrics and the web console (/console/), apart from the
                          webhook port (127.0.0.1:9093, "off")
  NATS_URL                use this NATS instead of the embedded one (with NATS_NKEY,
                          NATS_CREDS, NATS_USER/NATS_PASSWORD or NATS_TOKEN)

The operations commands (deliveries, trace, replay, dlq) connect to the NATS of
"ghnotify run" (GHNOTIFY_NATS_LISTEN, with the nkey in GHNOTIFY_DATA_DIR), or to
NATS_URL when it is set. See docs/operations.md.`

const rootExample = `  ghnotify run
  ghnotify send examples/issues-opened.json
  ghnotify deliveries --since 1h
  ghnotify trace 6d3e2f10-8a3b-11ef-9a1c-1e2f3a4b5c6d
  ghnotify dlq list`

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

// cliEnv is what every command gets: the environment and the outputs.
type cliEnv struct {
	lookup config.Lookup
	stdout io.Writer
	stderr io.Writer
}

// run parses args and runs the command they name.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookup config.Lookup) error {
	root := newRootCommand(cliEnv{lookup: lookup, stdout: stdout, stderr: stderr})
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil && strings.HasPrefix(err.Error(), "unknown command") {
		return usageError{err.Error() + `; see "ghnotify --help"`}
	}
	return err
}

// newRootCommand builds the whole command tree.
func newRootCommand(e cliEnv) *cobra.Command {
	root := &cobra.Command{
		Use:           "ghnotify",
		Short:         "GitHub webhooks to Slack through NATS JetStream",
		Long:          rootLong,
		Example:       rootExample,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(e.stderr)
			_ = cmd.Usage()
			return usageError{"no command given"}
		},
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(flagError)
	root.AddCommand(
		newRunCommand(e),
		newSendCommand(e),
		newRoutesCommand(e),
		newNATSContextCommand(e),
		newVersionCommand(e),
		newDeliveriesCommand(e),
		newTraceCommand(e),
		newReplayCommand(e),
		newDLQCommand(e),
		newRecoverCommand(e),
	)
	root.InitDefaultCompletionCmd()
	root.Version = fmt.Sprintf("%s (%s, %s/%s)", Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	root.SetVersionTemplate("ghnotify {{.Version}}\n")
	return root
}

// flagError turns a flag mistake into a usage error that names the command.
func flagError(cmd *cobra.Command, err error) error {
	if errors.Is(err, pflag.ErrHelp) {
		return err
	}
	return usageError{fmt.Sprintf("%s: %v (see %q)", cmd.CommandPath(), err, cmd.CommandPath()+" --help")}
}

// exactArgs is cobra.ExactArgs with a usage error that says what is wanted.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Sprintf("%s takes %s (got %d arguments; see %q)", cmd.CommandPath(), what, len(args), cmd.CommandPath()+" --help")}
		}
		return nil
	}
}

// noArgs refuses positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Sprintf("%s takes no arguments (got %q; see %q)", cmd.CommandPath(), strings.Join(args, " "), cmd.CommandPath()+" --help")}
	}
	return nil
}

func newVersionCommand(e cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  noArgs,
		RunE:  func(*cobra.Command, []string) error { return printVersion(e.stdout) },
	}
}
