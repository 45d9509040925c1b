package normalizer

import (
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
)

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		want    func(c Config) bool
		wantErr string
	}{
		{name: "defaults", env: map[string]string{}, want: func(c Config) bool {
			d := Defaults()
			return c.MaxDeliver == d.MaxDeliver && c.AckWait == d.AckWait && c.PullBatch == d.PullBatch &&
				c.MaxAckPending == d.MaxAckPending && c.PublishTimeout == d.PublishTimeout && c.Provision.Replicas == 1
		}},
		{name: "overrides", env: map[string]string{
			"GHNOTIFY_NORMALIZER_MAX_DELIVER": "4", "GHNOTIFY_NORMALIZER_ACK_WAIT": "1m",
			"GHNOTIFY_NORMALIZER_MAX_ACK_PENDING": "50", "GHNOTIFY_NORMALIZER_PULL_BATCH": "8",
			"GHNOTIFY_NORMALIZER_PUBLISH_TIMEOUT": "3s", "GHNOTIFY_REPLICAS": "3",
		}, want: func(c Config) bool {
			return c.MaxDeliver == 4 && c.AckWait == time.Minute && c.MaxAckPending == 50 && c.PullBatch == 8 &&
				c.PublishTimeout == 3*time.Second && c.Provision.Replicas == 3
		}},
		{name: "malformed", env: map[string]string{"GHNOTIFY_NORMALIZER_ACK_WAIT": "soon"}, wantErr: "GHNOTIFY_NORMALIZER_ACK_WAIT"},
		{name: "out of range", env: map[string]string{"GHNOTIFY_NORMALIZER_MAX_DELIVER": "0", "GHNOTIFY_NORMALIZER_PULL_BATCH": "-1"},
			wantErr: "GHNOTIFY_NORMALIZER_PULL_BATCH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := config.NewEnv(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			c := ConfigFromEnv(e)
			err := e.Err()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(c) {
				t.Errorf("config = %+v", c)
			}
		})
	}
}
