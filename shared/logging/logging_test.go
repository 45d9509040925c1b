package logging

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
		want    string
	}{
		{name: "defaults are json at info", cfg: Config{}, want: `"message":"shown"`},
		{name: "console", cfg: Config{Format: "console"}, want: "shown"},
		{name: "bad level", cfg: Config{Level: "loud"}, wantErr: true},
		{name: "bad format", cfg: Config{Format: "xml"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := New(&buf, tt.cfg)
			if tt.wantErr {
				if err == nil {
					t.Fatal("New accepted a bad configuration")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Debug().Msg("hidden")
			log.Info().Msg("shown")
			out := buf.String()
			if !strings.Contains(out, tt.want) || strings.Contains(out, "hidden") {
				t.Fatalf("output %q: want %q and no debug line", out, tt.want)
			}
		})
	}
}

func TestDurationsReadAsText(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := New(&buf, Config{})
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Dur("retry_in", 1500*time.Millisecond).Msg("x")
	if !strings.Contains(buf.String(), `"retry_in":"1.5s"`) {
		t.Fatalf("log line %s: want retry_in as \"1.5s\"", buf.String())
	}
}

func TestConsoleHasNoColourOffATerminal(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := New(&buf, Config{Format: "console"})
	if err != nil {
		t.Fatal(err)
	}
	log.Warn().Str("k", "v").Msg("plain")
	if strings.Contains(buf.String(), "\x1b[") {
		t.Fatalf("console output to a buffer has colour codes: %q", buf.String())
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Fatal("a regular file counts as a terminal")
	}
}
