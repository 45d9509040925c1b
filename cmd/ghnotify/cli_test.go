package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestRunDispatch(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStdout string
		wantStderr string
		wantErr    string
	}{
		{name: "no command", args: nil, wantCode: 2, wantStderr: "Usage:"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2, wantErr: `unknown command "frobnicate"`},
		{name: "help", args: []string{"help"}, wantStdout: "ghnotify send"},
		{name: "version", args: []string{"version"}, wantStdout: "ghnotify "},
		{name: "run takes no arguments", args: []string{"run", "extra"}, wantCode: 2, wantErr: "takes no arguments"},
		{name: "run help", args: []string{"run", "-h"}, wantStdout: "GHNOTIFY_DATA_DIR"},
		{name: "run rejects a malformed setting", args: []string{"run"}, env: map[string]string{"GHNOTIFY_SHUTDOWN_TIMEOUT": "soon"}, wantCode: 1, wantErr: "GHNOTIFY_SHUTDOWN_TIMEOUT"},
		{name: "send help", args: []string{"send", "-h"}, wantStdout: "--form"},
		{name: "send unknown flag", args: []string{"send", "--nope", "x.json"}, wantCode: 2},
		{name: "routes dispatches", args: []string{"routes", "--help"}, wantStdout: "routes check"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr, envOf(tt.env))
			code := 0
			if err != nil {
				code = exitCode(err)
			}
			if code != tt.wantCode {
				t.Fatalf("exit code %d (err %v), want %d", code, err, tt.wantCode)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

// TestEveryCommandHasHelp walks the whole command tree: -h exits 0 and
// prints the command's usage on stdout.
func TestEveryCommandHasHelp(t *testing.T) {
	var walk func(path []string, c interface {
		Commands() []*cobra.Command
	})
	var paths [][]string
	walk = func(path []string, c interface{ Commands() []*cobra.Command }) {
		for _, sub := range c.Commands() {
			p := append(append([]string(nil), path...), sub.Name())
			paths = append(paths, p)
			walk(p, sub)
		}
	}
	walk(nil, newRootCommand(cliEnv{lookup: envOf(nil), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}))
	for _, want := range []string{"run", "send", "routes check", "routes test", "nats-context", "version", "deliveries", "trace", "replay raw", "replay events", "dlq list", "dlq show", "dlq redrive", "recover", "completion bash"} {
		found := false
		for _, p := range paths {
			found = found || strings.Join(p, " ") == want
		}
		if !found {
			t.Errorf("no command %q", want)
		}
	}
	for _, p := range paths {
		t.Run(strings.Join(p, "_"), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append(append([]string(nil), p...), "-h"), &stdout, &stderr, envOf(nil))
			if err != nil {
				t.Fatalf("%v -h: %v (exit %d)", p, err, exitCode(err))
			}
			if !strings.Contains(stdout.String(), "Usage:") {
				t.Errorf("%v -h printed no usage:\n%s", p, stdout.String())
			}
		})
	}
}

func TestCompletionAndUsageErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"completion", "bash"}, &stdout, &stderr, envOf(nil)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "__start_ghnotify") {
		t.Errorf("completion bash printed no bash completion")
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"deliveries", "--nope"}, "unknown flag: --nope"},
		{[]string{"deliveries", "--status", "lost"}, `unknown status "lost"`},
		{[]string{"trace"}, "takes one DELIVERY-ID"},
		{[]string{"dlq", "show", "x"}, "is not a dead letter sequence"},
		{[]string{"dlq", "redrive"}, "SEQUENCEs or --all"},
		{[]string{"dlq", "redrive", "--all", "--stage", "gateway"}, `unknown stage "gateway"`},
		{[]string{"replay", "events"}, "say what to replay"},
		{[]string{"replay", "raw", "--subject", "github.event.>"}, "is not within github.raw.>"},
		{[]string{"replay", "raw", "--since", "yesterday"}, "--since"},
		{[]string{"replay", "nothing"}, `unknown command "nothing"`},
	} {
		err := run(context.Background(), tt.args, &stdout, &stderr, envOf(nil))
		if exitCode(err) != 2 || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: err %v (exit %d), want a usage error with %q", tt.args, err, exitCode(err), tt.want)
		}
	}
}
