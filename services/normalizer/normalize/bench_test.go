package normalize

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/delivery"
	"github.com/ghnotify/ghnotify/shared/event"
)

// BenchmarkNormalize measures parse and encode, the normalizer's CPU work
// per delivery, on realistic payloads of the sizes GitHub sends: about
// 7 KiB for issues and 30 KiB for pull_request.
func BenchmarkNormalize(b *testing.B) {
	for _, bc := range []struct{ name, event, file string }{
		{"issues-7KiB", "issues", "issues.opened.json"},
		{"pull_request-30KiB", "pull_request", "pull_request.closed.json"},
	} {
		body, err := os.ReadFile(filepath.Join("testdata", "bench", bc.file))
		if err != nil {
			b.Fatal(err)
		}
		d := delivery.Delivery{Event: bc.event, ID: "bench", ReceivedAt: time.Now(), Body: body}
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				evs, err := Normalize(d)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := event.Marshal(&evs[0]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
