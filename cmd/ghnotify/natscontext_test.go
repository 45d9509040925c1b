package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestNATSContextCommand(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    natsCLIContext
		wantErr string
		ctxName string
	}{
		{
			name:    "embedded server",
			env:     map[string]string{"GHNOTIFY_NATS_LISTEN": "127.0.0.1:4333"},
			want:    natsCLIContext{URL: "nats://127.0.0.1:4333", NKey: "<data>/" + NATSKeyFileName},
			ctxName: "ghnotify",
		},
		{
			name:    "embedded server on all interfaces is reached on loopback",
			args:    []string{"--name", "local"},
			env:     map[string]string{"GHNOTIFY_NATS_LISTEN": ":4333"},
			want:    natsCLIContext{URL: "nats://127.0.0.1:4333", NKey: "<data>/" + NATSKeyFileName},
			ctxName: "local",
		},
		{
			name:    "external server with user and password",
			env:     map[string]string{"NATS_URL": "nats://127.0.0.1:4222", "NATS_USER": "ghnotify", "NATS_PASSWORD": "pw-123", "NATS_CA": "ca.pem"},
			want:    natsCLIContext{URL: "nats://127.0.0.1:4222", User: "ghnotify", Password: "pw-123", CA: "<cwd>/ca.pem"},
			ctxName: "ghnotify",
		},
		{
			name:    "external server with an nkey",
			env:     map[string]string{"NATS_URL": "nats://n1:4222", "NATS_NKEY": "user.nk"},
			want:    natsCLIContext{URL: "nats://n1:4222", NKey: "<cwd>/user.nk"},
			ctxName: "ghnotify",
		},
		{
			name:    "external server with the password in the url",
			env:     map[string]string{"NATS_URL": "nats://ghnotify:pw-123@n1:4222,nats://n2:4222"},
			want:    natsCLIContext{URL: "nats://ghnotify:pw-123@n1:4222,nats://n2:4222"},
			ctxName: "ghnotify",
		},
		{name: "listener off", env: map[string]string{"GHNOTIFY_NATS_LISTEN": "off"}, wantErr: "listens for no client"},
		{name: "random port", env: map[string]string{"GHNOTIFY_NATS_LISTEN": "127.0.0.1:0"}, wantErr: "port 0"},
		{name: "two kinds of credentials", env: map[string]string{"NATS_URL": "nats://n1:4222", "NATS_USER": "u", "NATS_NKEY": "k.nk"}, wantErr: "one kind of credentials"},
		{name: "bad name", args: []string{"--name", "../evil"}, wantErr: "context name"},
		{name: "arguments", args: []string{"extra"}, wantErr: "takes no arguments"},
	}
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			data := filepath.Join(tmp, "data")
			env := map[string]string{"XDG_CONFIG_HOME": filepath.Join(tmp, "config"), "GHNOTIFY_DATA_DIR": data}
			for k, v := range tt.env {
				env[k] = v
			}
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"nats-context"}, tt.args...), &stdout, &stderr, envOf(env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if _, statErr := os.Stat(filepath.Join(tmp, "config")); statErr == nil {
					t.Fatal("a refused command wrote a context")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(tmp, "config", "nats", "context", tt.ctxName+".json")
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatalf("no context file: %v", err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Fatalf("context file mode %o, want 600", fi.Mode().Perm())
			}
			b, _ := os.ReadFile(path)
			var got natsCLIContext
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("context is not JSON: %v\n%s", err, b)
			}
			want := tt.want
			want.NKey = strings.NewReplacer("<data>", data, "<cwd>", cwd).Replace(want.NKey)
			want.CA = strings.Replace(want.CA, "<cwd>", cwd, 1)
			got.Description = ""
			if got != want {
				t.Fatalf("context = %+v, want %+v", got, want)
			}
			if want.NKey != "" && strings.HasPrefix(want.NKey, data) {
				if _, err := os.Stat(want.NKey); err != nil {
					t.Fatalf("the context names an nkey file that does not exist: %v", err)
				}
			}
			if strings.Contains(stdout.String()+stderr.String(), "pw-123") {
				t.Fatal("the password appeared in the output")
			}
			if !strings.Contains(stdout.String(), "nats --context "+tt.ctxName) {
				t.Errorf("output %q does not say how to use the context", stdout.String())
			}
		})
	}
}

// TestNATSContextKeepsKey checks that the context written before the first
// `ghnotify run` names the key that run then uses.
func TestNATSContextKeepsKey(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	env := envOf(map[string]string{"XDG_CONFIG_HOME": filepath.Join(tmp, "config"), "GHNOTIFY_DATA_DIR": data})
	var out bytes.Buffer
	if err := run(context.Background(), []string{"nats-context"}, &out, &out, env); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(NATSKeyFilePath(data))
	if err != nil {
		t.Fatal(err)
	}
	cfg := stackConfig{DataDir: data, NATSListen: listenOff}
	connect, shutdown, _, err := startNATS(cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown()
	c, err := connect("test")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	after, _ := os.ReadFile(NATSKeyFilePath(data))
	if !bytes.Equal(before, after) {
		t.Fatal("ghnotify run replaced the key the context names")
	}
}
