package sink

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/ops"
	"github.com/prometheus/client_golang/prometheus"
)

// TestOpsEndpoints runs the sink with an operations address and checks
// /healthz, /readyz (ready once consuming) and /metrics (the registry the
// sink's metrics are in) on it.
func TestOpsEndpoints(t *testing.T) {
	s := natstest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig("", "")
	reg := prometheus.NewRegistry()
	marker := prometheus.NewCounter(prometheus.CounterOpts{Name: "ops_test_marker_total", Help: "Marks the sink's registry."})
	reg.MustRegister(marker)
	cfg.Registerer = reg
	cfg.Ops = ops.Config{Listener: ln}
	stop := startSink(t, cfg, s.NC)
	defer stop()
	base := "http://" + ln.Addr().String()
	get := func(path string) (int, string) {
		res, err := http.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	natstest.WaitFor(t, 30*time.Second, "/readyz to answer 200", func() bool { code, _ := get("/readyz"); return code == http.StatusOK })
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d", code)
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "ops_test_marker_total") {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
}
