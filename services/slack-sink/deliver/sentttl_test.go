package deliver

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

func TestSentTTLCoversEveryRedelivery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want time.Duration
	}{
		// 24 h of hand-backs, 21 rounds of AckWait + 5 min, one hour more.
		{"defaults", Config{MaxHold: 24 * time.Hour, MaxDeliver: 20, AckWait: time.Minute}, 24*time.Hour + 21*6*time.Minute + time.Hour},
		{"short", Config{MaxHold: time.Hour, MaxDeliver: 3, AckWait: time.Second}, time.Hour + 4*(time.Second+5*time.Minute) + time.Hour},
		{"no hold limit keeps the bucket's TTL", Config{MaxHold: 0, MaxDeliver: 20, AckWait: time.Minute}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SentTTL(tt.cfg)
			if got != tt.want {
				t.Fatalf("SentTTL = %v, want %v", got, tt.want)
			}
			if got > 0 && got <= tt.cfg.MaxHold+tt.cfg.AckWait {
				t.Fatalf("SentTTL %v does not outlive the hold time and one AckWait", got)
			}
		})
	}
}

// ttlKV is a sent store that takes a TTL per record.
type ttlKV struct {
	memKV
	ttls map[string]time.Duration
}

func (kv *ttlKV) PutTTL(ctx context.Context, key string, value []byte, ttl time.Duration) (uint64, error) {
	kv.mu.Lock()
	kv.ttls[key] = ttl
	kv.mu.Unlock()
	return kv.Put(ctx, key, value)
}

func TestMarkSentWritesTheRecordWithItsTTL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		maxHold time.Duration
	}{{"bounded", time.Hour}, {"no hold limit", 0}} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxHold = tt.maxHold
			kv := &ttlKV{memKV: memKV{m: map[string][]byte{}}, ttls: map[string]time.Duration{}}
			s := New(context.Background(), cfg, nil, Stores{Sent: kv}, prometheus.NewRegistry(), zerolog.Nop())
			s.markSent(context.Background(), "e1.dest", sentRecord{Outcome: "posted"}, zerolog.Nop())
			if _, err := kv.Get(context.Background(), "e1.dest"); err != nil {
				t.Fatalf("record not written: %v", err)
			}
			ttl, withTTL := kv.ttls["e1.dest"]
			if want := SentTTL(cfg); withTTL != (want > 0) || ttl != want {
				t.Fatalf("written with TTL %v (%v), want %v", ttl, withTTL, want)
			}
		})
	}
}
