package normalizer

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
	"github.com/ghnotify/ghnotify/shared/natstest"
)

// BenchmarkEndToEnd measures the normalizer's throughput with an in-process
// JetStream server: b.N raw issues deliveries (about 7 KiB each) are stored
// first, then one normalizer loads, normalizes, publishes, traces and acks
// them all. The server shares the CPUs with the normalizer.
func BenchmarkEndToEnd(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("normalize", "testdata", "bench", "issues.opened.json"))
	if err != nil {
		b.Fatal(err)
	}
	s := natstest.Start(b)
	for i := range b.N {
		if _, err := s.JS.PublishMsgAsync(rawDelivery(fmt.Sprintf("bench-%d", i), "issues", body).Msg()); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-s.JS.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("raw deliveries were not stored in time")
	}
	var done atomic.Int64
	b.ResetTimer()
	startNormalizer(b, s, Defaults(), func(delivery.Delivery, []event.Event) { done.Add(1) })
	natstest.WaitFor(b, 5*time.Minute, "every delivery to be normalized", func() bool {
		return done.Load() >= int64(b.N)
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
