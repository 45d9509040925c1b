package natsconn

import (
	"testing"

	"github.com/ghnotify/ghnotify/shared/config"
)

func TestHasCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want bool
	}{
		{"nothing", Config{URL: "nats://n1:4222"}, false},
		{"default url", Config{}, false},
		{"nkey", Config{NKeyFile: "u.nk"}, true},
		{"creds", Config{CredsFile: "u.creds"}, true},
		{"user", Config{User: "u", Password: config.Secret("p")}, true},
		{"token", Config{Token: config.Secret("t")}, true},
		{"client certificate", Config{CertFile: "c.pem", KeyFile: "k.pem"}, true},
		{"user in the second url", Config{URL: "nats://n1:4222, nats://u:p@n2:4222"}, true},
		{"ca only", Config{CAFile: "ca.pem"}, false},
	}
	for _, tt := range tests {
		if got := tt.cfg.HasCredentials(); got != tt.want {
			t.Errorf("%s: HasCredentials = %v, want %v", tt.name, got, tt.want)
		}
	}
}
