package provision

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

func TestLeaderOf(t *testing.T) {
	cases := []struct {
		name string
		info *jetstream.StreamInfo
		want error
	}{
		{"single server, no cluster info", &jetstream.StreamInfo{}, nil},
		{"single server", &jetstream.StreamInfo{Cluster: &jetstream.ClusterInfo{Leader: "n1"}}, nil},
		{"cluster with a leader", &jetstream.StreamInfo{Cluster: &jetstream.ClusterInfo{Name: "c", Leader: "n2", Replicas: []*jetstream.PeerInfo{{Name: "n1"}, {Name: "n3"}}}}, nil},
		{"cluster during an election", &jetstream.StreamInfo{Cluster: &jetstream.ClusterInfo{Name: "c", Replicas: []*jetstream.PeerInfo{{Name: "n1"}, {Name: "n3"}}}}, ErrNoLeader},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := leaderOf("S", tc.info); !errors.Is(err, tc.want) {
				t.Fatalf("leaderOf = %v, want %v", err, tc.want)
			}
		})
	}
}
