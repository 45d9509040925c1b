package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
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
