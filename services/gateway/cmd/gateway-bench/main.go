// Command gateway-bench measures the gateway against a minimal baseline
// receiver (net/http, HMAC check, JetStream publish awaiting the PubAck,
// nothing else), both on loopback ports in front of one in-process
// JetStream server, and prints requests/s, p50 and p99 of each and their
// ratios as a Markdown table.
//
// With -uploads N it measures memory instead: the real gateway binary, as a
// child process, receives N concurrent large uploads (without GitHub
// headers, with a wrong signature, chunked, and validly signed), and its
// peak resident memory (VmHWM) is printed for each.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ghnotify/ghnotify/services/gateway"
	"github.com/ghnotify/ghnotify/services/gateway/internal/loadtest"
	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/ghnotify/ghnotify/shared/embedded"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

const benchSecret = "bench-secret"

type options struct {
	duration   time.Duration
	warmup     time.Duration
	conns      []int
	rounds     int
	size       int
	cpuProfile string
	uploads    int
	uploadSize int
	gatewayBin string
	wrk        bool
	rows       bool
}

func main() {
	var o options
	var conns string
	flag.DurationVar(&o.duration, "duration", 4*time.Second, "measured duration of each run")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before each target's first run")
	flag.StringVar(&conns, "conns", "32,128", "comma-separated connection counts")
	flag.IntVar(&o.rounds, "rounds", 5, "alternating runs per target and connection count; medians are reported")
	flag.IntVar(&o.size, "size", 7<<10, "payload size in bytes")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured runs (load generator, both receivers and NATS in one process) to this file")
	flag.IntVar(&o.uploads, "uploads", 0, "measure the gateway binary's peak memory under this many concurrent large uploads instead of throughput")
	flag.IntVar(&o.uploadSize, "upload-size", 25<<20, "size of each upload in bytes (with -uploads)")
	flag.BoolVar(&o.rows, "rows", false, "print only rows of the whole-system table of cmd/ghnotify/bench (| figure | value | target |)")
	flag.BoolVar(&o.wrk, "wrk", true, "also load both receivers with wrk when it is installed")
	flag.StringVar(&o.gatewayBin, "gateway-bin", "", "gateway binary for -uploads (default: built from ./cmd/gateway)")
	flag.Parse()
	for _, c := range strings.Split(conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "gateway-bench: bad -conns %q\n", conns)
			os.Exit(2)
		}
		o.conns = append(o.conns, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	run := run
	if o.uploads > 0 {
		run = runUploads
	}
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "gateway-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ns, err := embedded.Start(embedded.Config{StoreDir: dir}, zerolog.Nop())
	if err != nil {
		return err
	}
	defer ns.Shutdown()

	// The baseline: its own connection, its own port.
	bnc, err := ns.Connect("bench-baseline")
	if err != nil {
		return err
	}
	defer bnc.Close()
	bjs, err := jetstream.New(bnc)
	if err != nil {
		return err
	}
	if err := provision.Ensure(ctx, bjs, provision.Defaults()); err != nil {
		return err
	}
	if err := baselineStream(ctx, bjs); err != nil {
		return err
	}
	baseURL, stopBase, err := serveBaseline(bjs)
	if err != nil {
		return err
	}
	defer stopBase()

	// The gateway: the real thing, logging at info level to nowhere.
	gnc, err := ns.Connect("bench-gateway")
	if err != nil {
		return err
	}
	defer gnc.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	gatewayURL, stopGateway, err := startGateway(ctx, gnc, ln, true)
	if err != nil {
		return err
	}
	defer func() { stopGateway() }()

	template, slot := loadtest.Payload(o.size)
	fmt.Fprintf(out(o), "payload %d bytes, %d s per run, %d alternating rounds, GOMAXPROCS-visible CPUs %d\n\n",
		len(template), int(o.duration.Seconds()), o.rounds, numCPU())
	type pair struct{ base, gw []loadtest.Result }
	results := map[int]*pair{}
	targets := []struct {
		name, url string
	}{{"baseline", baseURL}, {"gateway", gatewayURL}}
	for _, t := range targets {
		if _, err := loadtest.Run(ctx, loadtest.Options{URL: t.url, Secret: benchSecret, Conns: 32, Duration: o.warmup,
			Template: template, Slot: slot, IDPrefix: t.name + "-warmup-"}); err != nil {
			return fmt.Errorf("warming up %s: %w", t.name, err)
		}
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for _, c := range o.conns {
		p := &pair{}
		results[c] = p
		for round := range o.rounds {
			for _, t := range targets {
				cpu0 := cpuTime()
				r, err := loadtest.Run(ctx, loadtest.Options{URL: t.url, Secret: benchSecret, Conns: c, Duration: o.duration,
					Template: template, Slot: slot, IDPrefix: fmt.Sprintf("%s-%d-%d-", t.name, c, round)})
				if err != nil {
					return fmt.Errorf("loading %s at %d connections: %w", t.name, c, err)
				}
				r.CPUPerRequest = (cpuTime() - cpu0) / time.Duration(max(r.Requests, 1))
				fmt.Fprintf(os.Stderr, "%-8s conns=%-4d round=%d  %8.0f req/s  p50 %-10s p99 %-10s cpu/req %s\n", t.name, c, round, r.RPS,
					r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.CPUPerRequest.Round(time.Microsecond))
				if t.name == "baseline" {
					p.base = append(p.base, r)
				} else {
					p.gw = append(p.gw, r)
				}
			}
		}
	}

	if !o.rows {
		fmt.Println("| conns | baseline req/s | baseline p50 | baseline p99 | gateway req/s | gateway p50 | gateway p99 | throughput ratio | p99 ratio | CPU/request baseline → gateway |")
		fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	}
	for _, c := range o.conns {
		p := results[c]
		b, g := median(p.base), median(p.gw)
		// Ratios are taken per round, between runs made back to back,
		// and their median reported: other load on the machine changes
		// between rounds more than within one.
		var rps, p99 []float64
		for i := range p.base {
			rps = append(rps, p.gw[i].RPS/p.base[i].RPS)
			p99 = append(p99, float64(p.gw[i].P99)/float64(p.base[i].P99))
		}
		if o.rows {
			fmt.Printf("| gateway vs baseline, Go load generator, %d conns: req/s, p99 (ratio) | %.0f vs %.0f req/s (%.2fx), p99 %s vs %s (%.2fx) | ≥ 1.0x, p99 ≤ 1.2x |\n", c,
				g.RPS, b.RPS, medianOf(rps), ms(g.P99), ms(b.P99), medianOf(p99))
			continue
		}
		fmt.Printf("| %d | %.0f | %s | %s | %.0f | %s | %s | %.2fx | %.2fx | %d µs → %d µs |\n", c,
			b.RPS, ms(b.P50), ms(b.P99), g.RPS, ms(g.P50), ms(g.P99), medianOf(rps), medianOf(p99),
			b.CPUPerRequest.Microseconds(), g.CPUPerRequest.Microseconds())
	}
	if !o.wrk {
		return nil
	}
	if !wrkAvailable() {
		if o.rows {
			fmt.Println("| gateway vs baseline, wrk | not run: wrk is not installed (Debian: apt-get install wrk) | |")
			return nil
		}
		fmt.Println()
		fmt.Println(wrkNote())
		return nil
	}
	// wrk repeats one body: the gateway it loads has body dedupe off.
	stopGateway()
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	gatewayURL, stopGateway, err = startGateway(ctx, gnc, ln, false)
	if err != nil {
		return err
	}
	return wrkRows(ctx, o, dir, baseURL, gatewayURL)
}

// startGateway runs the real gateway on ln, logging at info level to
// nowhere, and returns its webhook URL once ready and how to stop it.
func startGateway(ctx context.Context, nc *nats.Conn, ln net.Listener, bodies bool) (string, func(), error) {
	gctx, cancel := context.WithCancel(ctx)
	gdone := make(chan error, 1)
	go func() {
		gdone <- gateway.Run(gctx, gateway.Config{
			Listener:     ln,
			Secrets:      []config.Secret{benchSecret},
			DedupeBodies: bodies,
			Provision:    provision.Defaults(),
		}, nc, zerolog.New(io.Discard).Level(zerolog.InfoLevel))
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-gdone
		})
	}
	if err := waitReady("http://" + ln.Addr().String() + "/readyz"); err != nil {
		stop()
		return "", nil, err
	}
	return "http://" + ln.Addr().String() + gateway.WebhookPath, stop, nil
}

// out is where text other than table rows goes.
func out(o options) io.Writer {
	if o.rows {
		return os.Stderr
	}
	return os.Stdout
}

func medianOf(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// median returns the median requests/s, p50 and p99 of rs, each taken on its own.
func median(rs []loadtest.Result) loadtest.Result {
	pick := func(f func(loadtest.Result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return medianOf(v)
	}
	return loadtest.Result{
		CPUPerRequest: time.Duration(pick(func(r loadtest.Result) float64 { return float64(r.CPUPerRequest) })),
		RPS:           pick(func(r loadtest.Result) float64 { return r.RPS }),
		P50:           time.Duration(pick(func(r loadtest.Result) float64 { return float64(r.P50) })),
		P99:           time.Duration(pick(func(r loadtest.Result) float64 { return float64(r.P99) })),
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// The baseline's stream and the prefix of its subjects.
const (
	baselineStreamName = "BENCH_BASELINE"
	baselinePrefix     = "bench.baseline.raw."
)

// baselineStream creates the baseline's stream: the raw stream's settings
// under another name and subjects, so that each receiver stores into a
// stream of its own and the gateway's dedupe index, which reads the raw
// stream, does not read the baseline's deliveries (which would count the
// gateway's work in the baseline's runs).
func baselineStream(ctx context.Context, js jetstream.JetStream) error {
	raw, err := js.Stream(ctx, provision.StreamRaw)
	if err != nil {
		return fmt.Errorf("opening %s: %w", provision.StreamRaw, err)
	}
	cfg := raw.CachedInfo().Config
	cfg.Name, cfg.Subjects, cfg.Description = baselineStreamName, []string{baselinePrefix + ">"}, "gateway-bench: the baseline receiver's deliveries"
	if _, err := js.CreateStream(ctx, cfg); err != nil {
		return fmt.Errorf("creating %s: %w", baselineStreamName, err)
	}
	return nil
}

// serveBaseline runs the minimal receiver: read the body, check the HMAC,
// publish to JetStream (a stream with the raw stream's settings) and wait
// for the PubAck.
func serveBaseline(js jetstream.JetStream) (string, func(), error) {
	key := []byte(benchSecret)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		want, err := hex.DecodeString(strings.TrimPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256="))
		mac := hmac.New(sha256.New, key)
		mac.Write(body)
		if err != nil || !hmac.Equal(mac.Sum(nil), want) {
			http.Error(w, "signature", http.StatusUnauthorized)
			return
		}
		m := nats.NewMsg(baselinePrefix + r.Header.Get("X-GitHub-Event"))
		m.Data = body
		m.Header.Set(jetstream.MsgIDHeader, r.Header.Get("X-GitHub-Delivery"))
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if _, err := js.PublishMsg(ctx, m); err != nil {
			http.Error(w, "publish", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/", func() { _ = srv.Close() }, nil
}

func waitReady(url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("gateway not ready after 30s")
}

func numCPU() int { return runtime.GOMAXPROCS(0) }

// cpuTime is the CPU time (user and system) this process has used: load
// generator, both receivers and NATS together, so that CPU per request
// compares the two receivers independently of other load on the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
