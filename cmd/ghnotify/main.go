// Command ghnotify is the all-in-one ghnotify binary: `ghnotify run` runs the
// gateway, the normalizer and the Slack sink in one process around an
// embedded NATS server, and the other subcommands help operate it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	// The Slack sink calls Slack over HTTPS; images are FROM scratch, so the
	// binary carries its own CA roots for when the system has none.
	_ "golang.org/x/crypto/x509roots/fallback"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ghnotify:", err)
		os.Exit(exitCode(err))
	}
}
