// Package loadtest drives signed GitHub webhook deliveries at an HTTP
// endpoint from a fixed number of connections and measures throughput and
// latency.
package loadtest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// seqWidth is the width of the per-request counter written into the payload.
const seqWidth = 12

// Payload returns an issues "opened" payload of about size bytes and the
// offset of a seqWidth-digit slot in it. Writing a different number into
// the slot for each request makes every body unique, so body dedupe never
// turns the load into duplicates.
func Payload(size int) ([]byte, int) {
	head := `{"action":"opened","bench_seq":"`
	var b strings.Builder
	b.WriteString(head)
	slot := b.Len()
	b.WriteString(strings.Repeat("0", seqWidth))
	b.WriteString(`","issue":{"url":"https://api.github.com/repos/octo-org/hello-world/issues/1347",` +
		`"html_url":"https://github.com/octo-org/hello-world/issues/1347","id":1,"number":1347,` +
		`"title":"Found a bug","state":"open","locked":false,"labels":[{"id":208045946,"name":"bug","color":"f29513"}],` +
		`"user":{"login":"octocat","id":1,"type":"User","site_admin":false},"body":"`)
	tail := `"},"repository":{"id":1296269,"name":"hello-world","full_name":"octo-org/hello-world","private":false,` +
		`"owner":{"login":"octo-org","id":2,"type":"Organization"},"html_url":"https://github.com/octo-org/hello-world",` +
		`"default_branch":"main"},"sender":{"login":"octocat","id":1,"type":"User"}}`
	const words = "I'm having a problem with this. Steps to reproduce: open the page, click the button, wait. "
	for b.Len()+len(tail) < size {
		n := min(len(words), size-b.Len()-len(tail))
		b.WriteString(words[:n])
	}
	b.WriteString(tail)
	return []byte(b.String()), slot
}

// seq numbers requests across every run in the process, so that no two
// runs send the same body.
var seq atomic.Uint64

// Options describe one load run.
type Options struct {
	// URL receives the POSTs.
	URL string
	// Secret signs every body (X-Hub-Signature-256).
	Secret string
	// Conns is the number of concurrent connections, one request in flight on each.
	Conns int
	// Duration is how long requests are sent.
	Duration time.Duration
	// Template is the payload; Slot the offset of its counter (see Payload).
	Template []byte
	Slot     int
	// IDPrefix starts every delivery id; ids are unique within a run.
	IDPrefix string
}

// Result is what one run measured.
type Result struct {
	Conns    int
	Requests int
	Failures int
	Elapsed  time.Duration
	RPS      float64
	P50, P99 time.Duration
	// CPUPerRequest is filled in by callers that measure CPU time.
	CPUPerRequest time.Duration
}

// Run sends requests until o.Duration has passed or ctx ends. Only answers
// of 202 count as successes; anything else is a failure.
func Run(ctx context.Context, o Options) (Result, error) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        o.Conns,
		MaxIdleConnsPerHost: o.Conns,
		MaxConnsPerHost:     o.Conns,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 15 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()

	var failures atomic.Int64
	lat := make([][]time.Duration, o.Conns)
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.Conns {
		wg.Go(func() {
			body := slices.Clone(o.Template)
			mine := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil {
				n := seq.Add(1)
				digits := strconv.FormatUint(n, 10)
				copy(body[o.Slot:o.Slot+seqWidth], strings.Repeat("0", seqWidth-len(digits))+digits)
				mac := hmac.New(sha256.New, []byte(o.Secret))
				mac.Write(body)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(body))
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-GitHub-Event", "issues")
				req.Header.Set("X-GitHub-Delivery", o.IDPrefix+digits)
				req.Header.Set("X-GitHub-Hook-ID", "1")
				req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
				t0 := time.Now()
				res, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						failures.Add(1)
						errOnce.Do(func() { firstErr = err })
					}
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusAccepted {
					failures.Add(1)
					errOnce.Do(func() { firstErr = fmt.Errorf("status %d", res.StatusCode) })
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			lat[w] = mine
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := Result{Conns: o.Conns, Requests: len(all), Failures: int(failures.Load()), Elapsed: elapsed}
	if len(all) > 0 {
		r.RPS = float64(len(all)) / elapsed.Seconds()
		r.P50 = all[len(all)*50/100]
		r.P99 = all[min(len(all)-1, len(all)*99/100)]
	}
	if r.Failures > 0 {
		return r, fmt.Errorf("%d requests failed, the first with: %w", r.Failures, firstErr)
	}
	return r, nil
}
