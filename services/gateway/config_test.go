package gateway

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
)

func envOf(m map[string]string) *config.Env {
	return config.NewEnv(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
}

func TestConfigFromEnvDefaults(t *testing.T) {
	t.Parallel()
	e := envOf(map[string]string{"GITHUB_WEBHOOK_SECRET": "s1"})
	c := ConfigFromEnv(e)
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.MaxBodyBytes != 25<<20 || c.PublishTimeout != 5*time.Second || !c.DedupeBodies ||
		c.Provision.DedupeHorizon != 72*time.Hour || c.InsecureSkipSignature || c.MaxInflightBytes != 128<<20 ||
		c.Ops.Addr != "127.0.0.1:9090" || c.Ops.Pprof {
		t.Fatalf("defaults: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestConfigSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "secrets")
	if err := os.WriteFile(file, []byte("# rotated 2026\nfile-one\n\n  file-two  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := envOf(map[string]string{"GITHUB_WEBHOOK_SECRET": "a, b", "GITHUB_WEBHOOK_SECRET_FILE": file})
	c := ConfigFromEnv(e)
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range c.Secrets {
		got = append(got, s.Reveal())
	}
	if strings.Join(got, "|") != "a|b|file-one|file-two" {
		t.Fatalf("secrets = %q", got)
	}
	if s := fmt.Sprintf("%v %+v", c, c); strings.Contains(s, "file-one") {
		t.Fatalf("config prints a secret: %s", s)
	}

	e = envOf(map[string]string{"GITHUB_WEBHOOK_SECRET_FILE": filepath.Join(dir, "missing")})
	ConfigFromEnv(e)
	if e.Err() == nil {
		t.Fatal("a missing secrets file must be an error")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"no secret", map[string]string{}, "GITHUB_WEBHOOK_SECRET is not set"},
		{"insecure without secret", map[string]string{"GHNOTIFY_INSECURE_SKIP_SIGNATURE": "true"}, ""},
		{"bad cidr", map[string]string{"GITHUB_WEBHOOK_SECRET": "s", "GHNOTIFY_ALLOWED_CIDRS": "10.0.0.0/99"}, "GHNOTIFY_ALLOWED_CIDRS"},
		{"write timeout below publish timeout", map[string]string{"GITHUB_WEBHOOK_SECRET": "s", "GHNOTIFY_HTTP_WRITE_TIMEOUT": "2s"}, "GHNOTIFY_HTTP_WRITE_TIMEOUT"},
		{"negative body cap", map[string]string{"GITHUB_WEBHOOK_SECRET": "s", "GHNOTIFY_MAX_BODY_BYTES": "-1"}, "GHNOTIFY_MAX_BODY_BYTES"},
		{"in-flight budget below the body cap", map[string]string{"GITHUB_WEBHOOK_SECRET": "s", "GHNOTIFY_MAX_INFLIGHT_BYTES": "1048576"}, "GHNOTIFY_MAX_INFLIGHT_BYTES"},
		{"in-flight budget equal to the body cap", map[string]string{"GITHUB_WEBHOOK_SECRET": "s", "GHNOTIFY_MAX_INFLIGHT_BYTES": "26214400"}, ""},
		{"large body cap raises the default budget", map[string]string{"GITHUB_WEBHOOK_SECRET": "s", "GHNOTIFY_MAX_BODY_BYTES": "268435456"}, ""},
		{"ops off with pprof", map[string]string{"GITHUB_WEBHOOK_SECRET": "s", "GHNOTIFY_OPS_ADDR": "off", "GHNOTIFY_PPROF": "true"}, ""},
		{"horizon longer than raw retention", map[string]string{"GITHUB_WEBHOOK_SECRET": "s", "GHNOTIFY_DEDUPE_HORIZON": "169h"}, "GHNOTIFY_RAW_MAX_AGE"},
		{"raw retention shorter than default horizon", map[string]string{"GITHUB_WEBHOOK_SECRET": "s", "GHNOTIFY_RAW_MAX_AGE": "48h"}, "GHNOTIFY_DEDUPE_HORIZON"},
		{"horizon equal to raw retention", map[string]string{"GITHUB_WEBHOOK_SECRET": "s", "GHNOTIFY_DEDUPE_HORIZON": "168h"}, ""},
		{"longer horizon with longer retention", map[string]string{"GITHUB_WEBHOOK_SECRET": "s", "GHNOTIFY_DEDUPE_HORIZON": "240h", "GHNOTIFY_RAW_MAX_AGE": "336h"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := envOf(tt.env)
			c := ConfigFromEnv(e)
			if err := e.Err(); err != nil {
				t.Fatal(err)
			}
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestConfigOpsAddrChecked(t *testing.T) {
	t.Parallel()
	e := envOf(map[string]string{"GITHUB_WEBHOOK_SECRET": "s", "GHNOTIFY_OPS_ADDR": "localhost"})
	ConfigFromEnv(e)
	if e.Err() == nil || !strings.Contains(e.Err().Error(), "GHNOTIFY_OPS_ADDR") {
		t.Fatalf("an operations address without a port accepted: %v", e.Err())
	}
	if err := (Config{Secrets: []config.Secret{"s"}}).Validate(); err != nil {
		t.Fatalf("a Config built in code, with defaults: %v", err)
	}
	if d := (Config{MaxBodyBytes: 256 << 20}).withDefaults(); d.MaxInflightBytes != 256<<20 {
		t.Fatalf("default budget under a 256 MiB body cap = %d, want the cap", d.MaxInflightBytes)
	}
}
