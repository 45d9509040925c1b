package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ghnotify/ghnotify/services/gateway/internal/loadtest"
)

// wrkScript makes wrk post one signed payload with a new delivery id on
// every request (the id is not signed, so one signature serves them all).
// Only the id changes, so the gateway under wrk runs with body dedupe off,
// as a gateway receiving distinct payloads would store every one.
const wrkScript = `
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  prefix = args[1] .. "-" .. tostring(tid) .. "-"
  n = 0
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["User-Agent"] = "GitHub-Hookshot/bench"
  wrk.headers["X-GitHub-Event"] = "issues"
  wrk.headers["X-GitHub-Hook-ID"] = "1"
  wrk.headers["X-GitHub-Hook-Installation-Target-Type"] = "repository"
  wrk.headers["X-GitHub-Hook-Installation-Target-ID"] = "1"
  wrk.headers["X-Hub-Signature-256"] = signature
end
function request()
  n = n + 1
  wrk.headers["X-GitHub-Delivery"] = prefix .. n
  return wrk.format()
end
`

// wrkResult is what one wrk run measured.
type wrkResult struct {
	rps      float64
	p50, p99 time.Duration
	non2xx   int
}

// writeWrkScript writes the script with the payload and its signature.
func writeWrkScript(dir string, size int) (string, error) {
	template, slot := loadtest.Payload(size)
	body := bytes.Clone(template)
	copy(body[slot:], bytes.Repeat([]byte("7"), 6))
	mac := hmac.New(sha256.New, []byte(benchSecret))
	mac.Write(body)
	sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	script := fmt.Sprintf("body = [==[%s]==]\nsignature = %q\n%s", body, sig, wrkScript)
	p := filepath.Join(dir, "post.lua")
	return p, os.WriteFile(p, []byte(script), 0o600)
}

var (
	wrkRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|99)\.000%\s+([0-9.]+)(us|ms|s)\b`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	wrkPctOld  = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\b`)
	wrkUnitsNs = map[string]float64{"us": 1e3, "ms": 1e6, "s": 1e9}
)

// runWrk loads url with wrk (two threads, conns connections) for d.
func runWrk(ctx context.Context, script, url string, conns int, d time.Duration, prefix string) (wrkResult, error) {
	cmd := exec.CommandContext(ctx, "wrk", "-t2", "-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(int(d.Seconds()))+"s", "--latency", "-s", script, url, "--", prefix)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	var r wrkResult
	m := wrkRPS.FindSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk printed no Requests/sec:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	pcts := wrkPct.FindAllSubmatch(out, -1)
	if len(pcts) == 0 {
		pcts = wrkPctOld.FindAllSubmatch(out, -1)
	}
	for _, p := range pcts {
		v, _ := strconv.ParseFloat(string(p[2]), 64)
		dur := time.Duration(v * wrkUnitsNs[string(p[3])])
		if string(p[1]) == "50" {
			r.p50 = dur
		} else {
			r.p99 = dur
		}
	}
	if m := wrkNon2xx.FindSubmatch(out); m != nil {
		r.non2xx, _ = strconv.Atoi(string(m[1]))
	}
	if r.p99 == 0 {
		return r, fmt.Errorf("wrk printed no latency distribution:\n%s", out)
	}
	return r, nil
}

// wrkAvailable says whether wrk is on PATH.
func wrkAvailable() bool {
	_, err := exec.LookPath("wrk")
	return err == nil
}

// wrkRows runs wrk against both targets, alternating, and prints the rows.
func wrkRows(ctx context.Context, o options, dir, baseURL, gatewayURL string) error {
	script, err := writeWrkScript(dir, o.size)
	if err != nil {
		return err
	}
	if !o.rows {
		fmt.Println()
		fmt.Println("wrk (independent load generator; one payload with a new delivery id per request, body dedupe off in the gateway):")
		fmt.Println()
		fmt.Println("| conns | baseline req/s | baseline p50 | baseline p99 | gateway req/s | gateway p50 | gateway p99 | throughput ratio | p99 ratio |")
		fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	}
	for _, c := range o.conns {
		var base, gw []wrkResult
		var rps, p99 []float64
		for round := range o.rounds {
			var pair [2]wrkResult
			for i, url := range []string{baseURL, gatewayURL} {
				r, err := runWrk(ctx, script, url, c, o.duration, fmt.Sprintf("wrk-%d-%d-%d", c, round, i))
				if err != nil {
					return err
				}
				if r.non2xx > 0 {
					return fmt.Errorf("wrk at %d connections: %d answers were not 2xx", c, r.non2xx)
				}
				fmt.Fprintf(os.Stderr, "wrk %-8s conns=%-4d round=%d  %8.0f req/s  p50 %-10s p99 %s\n", []string{"baseline", "gateway"}[i], c, round, r.rps, r.p50, r.p99)
				pair[i] = r
			}
			base, gw = append(base, pair[0]), append(gw, pair[1])
			rps = append(rps, pair[1].rps/pair[0].rps)
			p99 = append(p99, float64(pair[1].p99)/float64(pair[0].p99))
		}
		mb, mg := medianWrk(base), medianWrk(gw)
		if o.rows {
			fmt.Printf("| gateway vs baseline, wrk (body dedupe off), %d conns: req/s, p99 (ratio) | %.0f vs %.0f req/s (%.2fx), p99 %s vs %s (%.2fx) | ≥ 1.0x, p99 ≤ 1.2x |\n", c,
				mg.rps, mb.rps, medianOf(rps), ms(mg.p99), ms(mb.p99), medianOf(p99))
			continue
		}
		fmt.Printf("| %d | %.0f | %s | %s | %.0f | %s | %s | %.2fx | %.2fx |\n", c, mb.rps, ms(mb.p50), ms(mb.p99), mg.rps, ms(mg.p50), ms(mg.p99), medianOf(rps), medianOf(p99))
	}
	return nil
}

func medianWrk(rs []wrkResult) wrkResult {
	pick := func(f func(wrkResult) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return medianOf(v)
	}
	return wrkResult{
		rps: pick(func(r wrkResult) float64 { return r.rps }),
		p50: time.Duration(pick(func(r wrkResult) float64 { return float64(r.p50) })),
		p99: time.Duration(pick(func(r wrkResult) float64 { return float64(r.p99) })),
	}
}

// wrkNote says why there are no wrk rows.
func wrkNote() string {
	return strings.TrimSpace(`
wrk is not installed: the independent load generator's rows are left out
(Debian: apt-get install wrk).`)
}
