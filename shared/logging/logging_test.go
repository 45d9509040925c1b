package logging

import (
	"bytes"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
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
