//go:build cluster

// The failover test of the three-node cluster stack (docker-compose.cluster.yml):
// `make test-cluster` builds the images and runs it; `make test` does not
// (build tag cluster).

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// clusterProject is the compose project of the test, apart from the
// project of make up-cluster and the compose smoke test.
const clusterProject = "ghnotify-cluster-test"

// Settings of the load: deliveries started per second, spread over both
// gateways, and how many 2xx answers each fault phase waits for while the
// component is down.
const (
	loadRate          = 20
	answersWhileDown  = 100
	retryPause        = 300 * time.Millisecond
	deliveryDeadline  = 3 * time.Minute
	sameIDEvery       = 10 // every 10th stored delivery is redelivered to the other gateway
	bodyReplayEvery   = 20 // every 20th one's body is replayed under a new id at the end
	electionDeadline  = 90 * time.Second
	catchUpDeadline   = 3 * time.Minute
	stackReadyTimeout = 3 * time.Minute
	killWindow        = time.Second
	burstFor          = 5 * time.Second
	burstSenders      = 16
)

// TestClusterFailover runs the cluster stack under a steady load of signed
// deliveries spread over both gateways, kills the NATS node leading the raw
// stream, then the one leading the events stream, then a gateway, a
// normalizer and a sink (SIGKILL), bringing each back, and checks that
// every delivery answered 2xx is posted to Slack exactly once.
func TestClusterFailover(t *testing.T) {
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skip("no Docker engine is reachable (docker info failed); the cluster failover test did not run")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	creds := readEnvFile(t, filepath.Join(root, "secrets", "nats.env"))
	if creds["NATS_USER"] == "" || creds["NATS_PASSWORD"] == "" {
		t.Fatal("secrets/nats.env has no NATS_USER and NATS_PASSWORD: run make secrets-cluster (make test-cluster does)")
	}
	if _, err := os.Stat(filepath.Join(root, "secrets", "nats-cluster.env")); err != nil {
		t.Fatal("secrets/nats-cluster.env is missing: run make secrets-cluster (make test-cluster does)")
	}
	tag := os.Getenv("GHNOTIFY_TAG")
	if tag == "" {
		tag = "latest"
	}

	// The Slack stand-in listens on the Docker bridge's address, which the
	// sinks reach as host.docker.internal (extra_hosts: host-gateway).
	bridge := dockerBridgeIP(t)
	slack := newSlackStandIn()
	sln, err := net.Listen("tcp", net.JoinHostPort(bridge, "0"))
	if err != nil {
		t.Fatalf("listening for the Slack stand-in on the Docker bridge %s: %v", bridge, err)
	}
	slackSrv := &http.Server{Handler: slack, ReadHeaderTimeout: 5 * time.Second}
	go slackSrv.Serve(sln)
	t.Cleanup(func() { slackSrv.Close() })

	ports := freePorts(t, 5)
	gateways := []string{
		fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
	}
	secret := randomHex(t, 32)
	dc := &compose{
		t:    t,
		dir:  root,
		args: composeCommand(),
		env: append(os.Environ(),
			"GHNOTIFY_TAG="+tag,
			"GITHUB_WEBHOOK_SECRET="+secret,
			fmt.Sprintf("GHNOTIFY_CLUSTER_HTTP_PORT_1=%d", ports[0]),
			fmt.Sprintf("GHNOTIFY_CLUSTER_HTTP_PORT_2=%d", ports[1]),
			fmt.Sprintf("GHNOTIFY_CLUSTER_NATS_PORT_1=%d", ports[2]),
			fmt.Sprintf("GHNOTIFY_CLUSTER_NATS_PORT_2=%d", ports[3]),
			fmt.Sprintf("GHNOTIFY_CLUSTER_NATS_PORT_3=%d", ports[4]),
			"SLACK_WEBHOOK_URL=http://host.docker.internal:"+strconv.Itoa(sln.Addr().(*net.TCPAddr).Port)+"/services/T0/B0/cluster-test",
			"GHNOTIFY_ROUTES=",
			"GHNOTIFY_SLACK_RATE_PER_MINUTE=60000",
			"GHNOTIFY_SLACK_BURST=1000",
			"GHNOTIFY_RAW_MAX_AGE=1h",
			"GHNOTIFY_EVENT_MAX_AGE=1h",
			"GHNOTIFY_DEDUPE_HORIZON=1h",
			"GHNOTIFY_LOG_LEVEL=info",
			"GHNOTIFY_LOG_FORMAT=json",
		),
	}
	// Whatever happens, the stack and its volumes go.
	dc.run("down", "-v", "--remove-orphans")
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := dc.output("logs", "--no-color", "--tail=60")
			t.Logf("compose logs (last 60 lines of each):\n%s", out)
		}
		dc.run("down", "-v", "--remove-orphans")
	})
	started := time.Now()
	dc.mustRun("up", "-d")

	nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d,nats://127.0.0.1:%d,nats://127.0.0.1:%d", ports[2], ports[3], ports[4]),
		nats.UserInfo(creds["NATS_USER"], creds["NATS_PASSWORD"]),
		nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true), nats.ReconnectWait(250*time.Millisecond),
		nats.IgnoreAuthErrorAbort())
	if err != nil {
		t.Fatalf("connecting to the cluster: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}

	for _, gw := range gateways {
		waitFor(t, stackReadyTimeout, "gateway "+gw+" ready", func() bool { return httpOK(gw + "/readyz") })
	}
	for _, s := range []string{"GHNOTIFY_RAW", "GHNOTIFY_EVENTS", "KV_ghnotify_sent"} {
		waitFor(t, stackReadyTimeout, s+" with 3 current replicas", func() bool { return replicasCurrent(js, s, 3) })
	}
	waitFor(t, stackReadyTimeout, "both consumers", func() bool {
		return consumerExists(js, "GHNOTIFY_RAW", "normalizer") && consumerExists(js, "GHNOTIFY_EVENTS", "slack-sink")
	})
	t.Logf("stack up and ready in %s", time.Since(started).Round(time.Second))

	payload, err := os.ReadFile(filepath.Join(root, "examples", "issues-opened.json"))
	if err != nil {
		t.Fatal(err)
	}
	ld := &load{
		t:        t,
		gateways: gateways,
		secret:   []byte(secret),
		template: payload,
		run:      randomHex(t, 4),
		client:   &http.Client{Timeout: 15 * time.Second},
	}
	// What the whole cluster on this machine takes: a burst from
	// burstSenders senders over both gateways, and how long until every
	// delivery of it is posted (one Slack destination).
	burstStart := time.Now()
	burstAcked, burstMarkers := ld.burst(burstFor, burstSenders)
	burstSent := time.Since(burstStart)
	waitFor(t, catchUpDeadline, "every delivery of the burst posted", func() bool { return slack.covers(burstMarkers) })
	burstPosted := time.Since(burstStart)
	t.Logf("burst: %d deliveries answered 2xx in %s (%.0f/s), all posted after %s (%.0f posts/s)", burstAcked, burstSent.Round(time.Millisecond),
		float64(burstAcked)/burstSent.Seconds(), burstPosted.Round(time.Millisecond), float64(burstAcked)/burstPosted.Seconds())

	probe := newReadyProbe(gateways)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go probe.run(ctx)
	loadDone := make(chan struct{})
	first := ld.answered()
	go func() { ld.generate(ctx); close(loadDone) }()

	waitFor(t, time.Minute, "the first answers", func() bool { return ld.answered() >= first+answersWhileDown })

	// 0. A planned move of the raw stream's leader, as a rolling upgrade
	// does before stopping a node.
	var phases []phase
	{
		leader := waitLeader(t, js, "GHNOTIFY_RAW", "")
		p := phase{name: "step-down of " + leader + " (leader of GHNOTIFY_RAW)"}
		asked := time.Now()
		resp, err := nc.Request("$JS.API.STREAM.LEADER.STEPDOWN.GHNOTIFY_RAW", nil, 10*time.Second)
		if err != nil {
			t.Fatalf("asking the leader of GHNOTIFY_RAW to step down: %v", err)
		}
		if !strings.Contains(string(resp.Data), `"success":true`) {
			t.Fatalf("step-down of GHNOTIFY_RAW refused: %s", resp.Data)
		}
		newLeader := waitLeader(t, js, "GHNOTIFY_RAW", leader)
		p.election = time.Since(asked)
		before := ld.answered()
		waitFor(t, time.Minute, "answers after the step-down", func() bool { return ld.answered() >= before+answersWhileDown })
		t.Logf("%s: %s leads after %s", p.name, newLeader, p.election.Round(time.Millisecond))
		phases = append(phases, p)
	}

	// 1. The node leading the raw stream, 2. the one leading the events stream.
	var electionFrom, electionTo time.Time
	for _, stream := range []string{"GHNOTIFY_RAW", "GHNOTIFY_EVENTS"} {
		leader := waitLeader(t, js, stream, "")
		p := phase{name: "nats node " + leader + " (leader of " + stream + ")"}
		before := ld.answered()
		killed := time.Now()
		dc.mustRun("kill", "-s", "SIGKILL", leader)
		newLeader := waitLeader(t, js, stream, leader)
		p.election = time.Since(killed)
		if stream == "GHNOTIFY_RAW" {
			electionFrom, electionTo = killed, time.Now()
		}
		waitFor(t, time.Minute, fmt.Sprintf("%d answers with %s down", answersWhileDown, leader), func() bool { return ld.answered() >= before+answersWhileDown })
		dc.mustRun("start", leader)
		restarted := time.Now()
		waitFor(t, catchUpDeadline, leader+" current again in every stream", func() bool {
			for _, s := range []string{"GHNOTIFY_RAW", "GHNOTIFY_EVENTS", "KV_ghnotify_sent"} {
				if !replicasCurrent(js, s, 3) {
					return false
				}
			}
			return true
		})
		p.down, p.rejoin = time.Since(killed), time.Since(restarted)
		t.Logf("%s: killed; %s leads %s after %s; restarted, current again %s later", p.name, newLeader, stream, p.election.Round(time.Millisecond), p.rejoin.Round(time.Millisecond))
		phases = append(phases, p)
	}

	// 3. A gateway, 4. a normalizer, 5. a sink.
	var sinkAddr string
	var sinkKilled time.Time
	for _, svc := range []string{"gateway1", "normalizer1", "slack-sink1"} {
		p := phase{name: svc}
		before, postsBefore := ld.answered(), slack.total()
		if svc == "slack-sink1" {
			sinkAddr = dc.containerIP(svc)
		}
		killed := time.Now()
		dc.mustRun("kill", "-s", "SIGKILL", svc)
		if svc == "slack-sink1" {
			sinkKilled = time.Now()
		}
		waitFor(t, time.Minute, fmt.Sprintf("%d answers and posts with %s down", answersWhileDown, svc), func() bool {
			return ld.answered() >= before+answersWhileDown && slack.total() >= postsBefore+answersWhileDown
		})
		dc.mustRun("start", svc)
		if svc == "gateway1" {
			waitFor(t, stackReadyTimeout, "gateway1 ready again", func() bool { return httpOK(gateways[0] + "/readyz") })
		}
		postsBack := slack.total()
		waitFor(t, time.Minute, fmt.Sprintf("%d more posts with %s back", answersWhileDown, svc), func() bool { return slack.total() >= postsBack+answersWhileDown })
		p.down = time.Since(killed)
		t.Logf("%s: killed, restarted, %d posts since; %s", svc, slack.total()-postsBefore, p.down.Round(time.Millisecond))
		phases = append(phases, p)
	}

	cancel()
	<-loadDone
	loadTime := ld.elapsed()

	// Every delivery's body replayed under a new id through the gateway that
	// did not store it: both indexes must know every stored body, the
	// restarted gateway's included.
	replays := ld.replayBodies(bodyReplayEvery)

	// Wait until every acknowledged delivery is posted and neither consumer
	// has anything left, so that no late duplicate can still come.
	acked := ld.ackedMarkers()
	waitFor(t, catchUpDeadline, "every acknowledged delivery posted and both consumers idle", func() bool {
		return slack.covers(acked) && consumerIdle(js, "GHNOTIFY_RAW", "normalizer") && consumerIdle(js, "GHNOTIFY_EVENTS", "slack-sink")
	})

	st := ld.stats()
	posts, dups, lost, extra := slack.count(acked, ld.run)
	// A repeated post is the documented cost of a sink killed between
	// Slack's answer and its sent record only if the killed sink posted it
	// in the last moments before the kill.
	explained := slack.inKillWindow(sinkAddr, sinkKilled, killWindow)
	logs, _ := dc.output("logs", "--no-color")
	if path := os.Getenv("GHNOTIFY_CLUSTER_TEST_LOGS"); path != "" {
		if err := os.WriteFile(path, []byte(logs), 0o600); err != nil {
			t.Errorf("saving the compose logs: %v", err)
		}
	}
	logCounts := countLogLevels(logs)

	var b strings.Builder
	fmt.Fprintf(&b, "cluster failover figures (3 nats nodes, 2 gateways, 2 normalizers, 2 sinks, R3; load %d deliveries/s for %s):\n", loadRate, loadTime.Round(time.Second))
	fmt.Fprintf(&b, "  burst (%d senders, %s)            %d answered 2xx: %.0f/s; all posted after %s: %.0f posts/s\n", burstSenders, burstFor, burstAcked,
		float64(burstAcked)/burstSent.Seconds(), burstPosted.Round(time.Millisecond), float64(burstAcked)/burstPosted.Seconds())
	fmt.Fprintf(&b, "  deliveries (burst included)      %d\n", st.deliveries)
	fmt.Fprintf(&b, "  requests                         %d\n", st.requests)
	fmt.Fprintf(&b, "  deliveries answered 2xx          %d (stored %d, duplicate %d)\n", st.acked, st.stored, st.ackedDuplicate)
	fmt.Fprintf(&b, "  answers 503                      %d\n", st.unavailable)
	fmt.Fprintf(&b, "  connections refused/failed       %d\n", st.connErrors)
	fmt.Fprintf(&b, "  other answers                    %d\n", st.other)
	fmt.Fprintf(&b, "  re-sent with the same id         %d deliveries\n", st.resent)
	fmt.Fprintf(&b, "  longest time without a 2xx       %s\n", st.longestGap.Round(time.Millisecond))
	fmt.Fprintf(&b, "  redelivered to the other gateway %d: duplicate %d, stored %d, failed %d\n", st.sameID, st.sameIDDuplicate, st.sameIDStored, st.sameIDFailed)
	fmt.Fprintf(&b, "  bodies replayed under a new id   %d: duplicate %d, stored %d, failed %d\n", replays.sent, replays.duplicate, replays.stored, replays.failed)
	fmt.Fprintf(&b, "  posts to Slack                   %d\n", posts)
	fmt.Fprintf(&b, "  duplicates                       %d (of them posted by slack-sink1 in the %s before its kill: %d)\n", dups, killWindow, len(explained))
	fmt.Fprintf(&b, "  posts by sender address          %v (slack-sink1 %s)\n", slack.senders(), sinkAddr)
	fmt.Fprintf(&b, "  losses                           %d\n", lost)
	fmt.Fprintf(&b, "  posts never acknowledged         %d\n", extra)
	for _, p := range phases {
		switch {
		case p.rejoin > 0:
			fmt.Fprintf(&b, "  %-50s new leader after %s; restarted, current again %s later\n", p.name, p.election.Round(time.Millisecond), p.rejoin.Round(time.Millisecond))
		case p.election > 0:
			fmt.Fprintf(&b, "  %-50s new leader after %s\n", p.name, p.election.Round(time.Millisecond))
		default:
			fmt.Fprintf(&b, "  %-50s down and back in %s\n", p.name, p.down.Round(time.Millisecond))
		}
	}
	for i := range gateways {
		fmt.Fprintf(&b, "  gateway%d /readyz not ready        %d of %d probes\n", i+1, probe.notReady[i].Load(), probe.probes[i].Load())
	}
	electionNotReady, electionProbes := probe.between(electionFrom, electionTo)
	for i := range gateways {
		fmt.Fprintf(&b, "  gateway%d /readyz not ready while GHNOTIFY_RAW had no leader: %d of %d probes\n", i+1, electionNotReady[i], electionProbes[i])
	}
	fmt.Fprintf(&b, "  log lines (warn/error) by service:")
	for _, svc := range sortedKeys(logCounts) {
		c := logCounts[svc]
		fmt.Fprintf(&b, " %s %d/%d", svc, c.warn, c.error)
	}
	fmt.Fprintf(&b, "\n  whole test                       %s\n", time.Since(started).Round(time.Second))
	t.Log(b.String())

	if st.acked != st.deliveries {
		t.Errorf("%d of %d deliveries never got a 2xx within %s", st.deliveries-st.acked, st.deliveries, deliveryDeadline)
	}
	if lost != 0 {
		t.Errorf("%d deliveries answered 2xx were never posted", lost)
	}
	if dups > len(explained) {
		t.Errorf("%d duplicate posts, %d of them explained by slack-sink1's kill", dups, len(explained))
	}
	if st.sameIDStored != 0 || st.sameIDFailed != 0 {
		t.Errorf("redeliveries to the other gateway: %d stored again, %d without an answer; want every one a duplicate", st.sameIDStored, st.sameIDFailed)
	}
	if replays.stored != 0 || replays.failed != 0 {
		t.Errorf("bodies replayed under a new id: %d stored again, %d without an answer; want every one a duplicate", replays.stored, replays.failed)
	}
	for i := range gateways {
		if electionNotReady[i] == 0 {
			t.Errorf("gateway%d's /readyz never said not ready while GHNOTIFY_RAW had no leader (%d probes)", i+1, electionProbes[i])
		}
	}
	if extra != 0 {
		t.Errorf("%d posts of deliveries that were never answered 2xx", extra)
	}
}

// phase is one fault: what was killed, how long until a new leader, how
// long until it was back.
type phase struct {
	name     string
	election time.Duration
	down     time.Duration
	rejoin   time.Duration // from the restart to every stream current
}

// load sends signed issues.opened deliveries, each with its own marker in
// the issue title, to both gateways in turn. A delivery not answered 2xx is
// re-sent with the same id and body to the other gateway, as GitHub's
// Redeliver would, until it is answered 2xx.
type load struct {
	t        *testing.T
	gateways []string
	secret   []byte
	template []byte
	run      string
	client   *http.Client

	mu        sync.Mutex
	start     time.Time
	end       time.Time
	ok        []time.Time // when each 2xx answer came
	records   []*deliveryRecord
	s         loadStats
	answerCnt atomic.Int64
	next      atomic.Int64 // number of the last delivery made
}

type deliveryRecord struct {
	n        int
	id       string
	body     signedDelivery
	storedBy int // index of the gateway that answered 2xx; -1 until then
	acked    bool
}

type loadStats struct {
	deliveries, requests, acked, stored, ackedDuplicate int
	unavailable, connErrors, other, resent              int
	sameID, sameIDDuplicate, sameIDStored, sameIDFailed int
	longestGap                                          time.Duration
}

func (l *load) answered() int64 { return l.answerCnt.Load() }

// generate starts loadRate deliveries a second until ctx ends, then waits
// for every one started to be answered 2xx (or to give up).
func (l *load) generate(ctx context.Context) {
	l.mu.Lock()
	l.start = time.Now()
	l.mu.Unlock()
	tick := time.NewTicker(time.Second / loadRate)
	defer tick.Stop()
	var wg sync.WaitGroup
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			l.mu.Lock()
			l.end = time.Now()
			l.mu.Unlock()
			return
		case <-tick.C:
		}
		rec := l.newDelivery()
		wg.Go(func() { l.deliver(rec) })
	}
}

// burst sends deliveries as fast as conns senders can for d, before the
// steady load, and returns how many were answered 2xx and their markers.
func (l *load) burst(d time.Duration, conns int) (int, map[string]bool) {
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	var mu sync.Mutex
	markers := map[string]bool{}
	for range conns {
		wg.Go(func() {
			for time.Now().Before(end) {
				rec := l.newDelivery()
				l.deliver(rec)
				mu.Lock()
				if rec.acked {
					markers[marker(l.run, rec.n)] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return len(markers), markers
}

func (l *load) newDelivery() *deliveryRecord {
	n := int(l.next.Add(1))
	var p map[string]any
	if err := json.Unmarshal(l.template, &p); err != nil {
		panic(err)
	}
	issue := p["issue"].(map[string]any)
	issue["title"] = marker(l.run, n)
	issue["number"] = n
	body, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	id := uuid()
	d, err := signDelivery(body, deliveryParams{Event: "issues", DeliveryID: id, HookID: "1", Secret: l.secret})
	if err != nil {
		panic(err)
	}
	rec := &deliveryRecord{n: n, id: id, body: d, storedBy: -1}
	l.mu.Lock()
	l.records = append(l.records, rec)
	l.s.deliveries++
	l.mu.Unlock()
	return rec
}

// deliver sends rec until a 2xx, alternating gateways, then (for every
// sameIDEvery-th delivery) redelivers it to the other gateway, where it
// must be a duplicate.
func (l *load) deliver(rec *deliveryRecord) {
	deadline := time.Now().Add(deliveryDeadline)
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		gw := (rec.n + attempt) % len(l.gateways)
		status, outcome, err := l.post(gw, rec.body)
		l.mu.Lock()
		l.s.requests++
		if attempt == 1 {
			l.s.resent++
		}
		switch {
		case err != nil:
			l.s.connErrors++
		case status >= 200 && status < 300:
			rec.acked, rec.storedBy = true, gw
			l.s.acked++
			if outcome == "duplicate" {
				l.s.ackedDuplicate++
			} else {
				l.s.stored++
			}
			l.ok = append(l.ok, time.Now())
		case status == http.StatusServiceUnavailable:
			l.s.unavailable++
		default:
			l.s.other++
		}
		l.mu.Unlock()
		if rec.acked {
			l.answerCnt.Add(1)
			break
		}
		time.Sleep(retryPause) // GitHub's Redeliver comes later, not at once
	}
	if !rec.acked || rec.n%sameIDEvery != 0 {
		return
	}
	other := (rec.storedBy + 1) % len(l.gateways)
	l.mu.Lock()
	l.s.sameID++
	l.mu.Unlock()
	for time.Now().Before(deadline) {
		status, outcome, err := l.post(other, rec.body)
		if err == nil && status >= 200 && status < 300 {
			l.mu.Lock()
			if outcome == "duplicate" {
				l.s.sameIDDuplicate++
			} else {
				l.s.sameIDStored++
			}
			l.mu.Unlock()
			return
		}
		time.Sleep(retryPause) // the other gateway is down or electing: try it again
	}
	l.mu.Lock()
	l.s.sameIDFailed++
	l.mu.Unlock()
}

// post sends one delivery to gateway gw and returns the status and the
// answer's status field.
func (l *load) post(gw int, d signedDelivery) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, l.gateways[gw]+defaultGatewayPath, bytes.NewReader(d.Body))
	if err != nil {
		return 0, "", err
	}
	for k, vs := range d.Header {
		req.Header[k] = vs
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var answer struct {
		Status string `json:"status"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	_ = json.Unmarshal(b, &answer)
	return resp.StatusCode, answer.Status, nil
}

type replayStats struct{ sent, duplicate, stored, failed int }

// replayBodies sends the body of every nth acknowledged delivery under a
// fresh delivery id to the gateway that did not store it.
func (l *load) replayBodies(every int) replayStats {
	l.mu.Lock()
	recs := append([]*deliveryRecord(nil), l.records...)
	l.mu.Unlock()
	var rs replayStats
	for _, rec := range recs {
		if !rec.acked || rec.n%every != 0 {
			continue
		}
		body, err := jsonPayload(rec.body)
		if err != nil {
			panic(err)
		}
		d, err := signDelivery(body, deliveryParams{Event: "issues", DeliveryID: uuid(), HookID: "1", Secret: l.secret})
		if err != nil {
			panic(err)
		}
		rs.sent++
		other := (rec.storedBy + 1) % len(l.gateways)
		status, outcome, err := l.post(other, d)
		switch {
		case err != nil || status < 200 || status > 299:
			rs.failed++
		case outcome == "duplicate":
			rs.duplicate++
		default:
			rs.stored++
		}
	}
	return rs
}

func jsonPayload(d signedDelivery) ([]byte, error) {
	if !json.Valid(d.Body) {
		return nil, errors.New("not a JSON delivery")
	}
	return d.Body, nil
}

func (l *load) ackedMarkers() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[string]bool, len(l.records))
	for _, r := range l.records {
		if r.acked {
			m[marker(l.run, r.n)] = true
		}
	}
	return m
}

func (l *load) elapsed() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.end.Sub(l.start)
}

// stats returns the figures, with the longest time between two 2xx
// answers (or from the start to the first) while the load ran.
func (l *load) stats() loadStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.s
	ok := append([]time.Time(nil), l.ok...)
	sort.Slice(ok, func(i, j int) bool { return ok[i].Before(ok[j]) })
	prev := l.start
	for _, at := range ok {
		if at.Before(l.start) {
			continue // the burst
		}
		if at.After(l.end) {
			break
		}
		s.longestGap = max(s.longestGap, at.Sub(prev))
		prev = at
	}
	return s
}

func marker(run string, n int) string { return fmt.Sprintf("failover-%s-%06d", run, n) }

// slackStandIn is Slack's incoming webhook: it answers ok and counts the
// posts of each marker.
type slackStandIn struct {
	mu    sync.Mutex
	posts map[string]int
	log   []post
	n     atomic.Int64
}

// post is one post received: its marker, when, and from which address.
type post struct {
	marker string
	at     time.Time
	from   string
}

var markerRE = regexp.MustCompile(`failover-[0-9a-f]+-[0-9]{6}`)

func newSlackStandIn() *slackStandIn { return &slackStandIn{posts: map[string]int{}} }

func (s *slackStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if m := markerRE.Find(b); m != nil {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		s.mu.Lock()
		s.posts[string(m)]++
		s.log = append(s.log, post{marker: string(m), at: time.Now(), from: host})
		s.mu.Unlock()
	}
	s.n.Add(1)
	io.WriteString(w, "ok")
}

func (s *slackStandIn) total() int64 { return s.n.Load() }

func (s *slackStandIn) covers(markers map[string]bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for m := range markers {
		if s.posts[m] == 0 {
			return false
		}
	}
	return true
}

// inKillWindow returns the markers posted more than once of which one
// post came from the address from within window before killed: the
// documented window of a sink killed between Slack's answer and the write
// of its sent record, after which the redelivered event is posted again.
func (s *slackStandIn) inKillWindow(from string, killed time.Time, window time.Duration) map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]bool{}
	for _, p := range s.log {
		if p.from == from && !p.at.After(killed) && killed.Sub(p.at) <= window && s.posts[p.marker] > 1 {
			out[p.marker] = true
		}
	}
	return out
}

// senders returns the addresses posts came from, with their counts.
func (s *slackStandIn) senders() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]int{}
	for _, p := range s.log {
		m[p.from]++
	}
	return m
}

// count returns the posts of this run, the posts beyond one per marker,
// the acknowledged markers never posted, and the markers posted without
// an acknowledgement.
func (s *slackStandIn) count(acked map[string]bool, run string) (posts, dups, lost, extra int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for m, n := range s.posts {
		if !strings.HasPrefix(m, "failover-"+run+"-") {
			continue
		}
		posts += n
		dups += n - 1
		if !acked[m] {
			extra++
		}
	}
	for m := range acked {
		if s.posts[m] == 0 {
			lost++
		}
	}
	return
}

// readyProbe polls each gateway's /readyz while the test runs.
type readyProbe struct {
	urls     []string
	probes   []atomic.Int64
	notReady []atomic.Int64

	mu  sync.Mutex
	log []probeResult
}

type probeResult struct {
	at      time.Time
	gateway int
	ready   bool
}

func newReadyProbe(gateways []string) *readyProbe {
	return &readyProbe{urls: gateways, probes: make([]atomic.Int64, len(gateways)), notReady: make([]atomic.Int64, len(gateways))}
}

// between returns, per gateway, the probes answered not ready and all
// probes made from from to to.
func (p *readyProbe) between(from, to time.Time) (notReady, all []int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	notReady, all = make([]int, len(p.urls)), make([]int, len(p.urls))
	for _, r := range p.log {
		if r.at.Before(from) || r.at.After(to) {
			continue
		}
		all[r.gateway]++
		if !r.ready {
			notReady[r.gateway]++
		}
	}
	return notReady, all
}

func (p *readyProbe) run(ctx context.Context) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for i, u := range p.urls {
			p.probes[i].Add(1)
			ok := httpOK(u + "/readyz")
			if !ok {
				p.notReady[i].Add(1)
			}
			p.mu.Lock()
			p.log = append(p.log, probeResult{at: time.Now(), gateway: i, ready: ok})
			p.mu.Unlock()
		}
	}
}

// compose runs docker compose (or docker-compose) on the cluster file.
type compose struct {
	t    *testing.T
	dir  string
	args []string
	env  []string
}

func composeCommand() []string {
	if c := os.Getenv("GHNOTIFY_COMPOSE"); c != "" {
		return strings.Fields(c)
	}
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	return []string{"docker-compose"}
}

func (c *compose) cmd(args ...string) *exec.Cmd {
	all := append(append(append([]string(nil), c.args[1:]...), "-p", clusterProject, "-f", "docker-compose.cluster.yml"), args...)
	cmd := exec.Command(c.args[0], all...)
	cmd.Dir = c.dir
	cmd.Env = c.env
	return cmd
}

// containerIP returns the address of service's container on the
// compose network.
func (c *compose) containerIP(service string) string {
	c.t.Helper()
	out, err := c.cmd("ps", "-q", service).Output()
	ids := strings.Fields(string(out))
	if err != nil || len(ids) == 0 {
		c.t.Fatalf("finding the container of %s: %v %s", service, err, out)
	}
	out, err = exec.Command("docker", "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", ids[len(ids)-1]).Output()
	if err != nil {
		c.t.Fatalf("inspecting %s: %v", service, err)
	}
	fields := strings.Fields(string(out))
	if len(fields) == 0 {
		c.t.Fatalf("%s has no address", service)
	}
	return fields[0]
}

func (c *compose) output(args ...string) (string, error) {
	out, err := c.cmd(args...).CombinedOutput()
	return string(out), err
}

func (c *compose) run(args ...string) {
	if out, err := c.output(args...); err != nil {
		c.t.Logf("compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (c *compose) mustRun(args ...string) {
	c.t.Helper()
	if out, err := c.output(args...); err != nil {
		c.t.Fatalf("compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// waitLeader waits until stream has a leader other than not and returns it.
func waitLeader(t *testing.T, js jetstream.JetStream, stream, not string) string {
	t.Helper()
	var leader string
	waitFor(t, electionDeadline, "a leader of "+stream, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return false
		}
		info := s.CachedInfo()
		if info.Cluster == nil || info.Cluster.Leader == "" || info.Cluster.Leader == not {
			return false
		}
		leader = info.Cluster.Leader
		return true
	})
	return leader
}

// replicasCurrent reports whether stream has a leader and n-1 current,
// online followers.
func replicasCurrent(js jetstream.JetStream, stream string, n int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return false
	}
	info := s.CachedInfo()
	if info.Cluster == nil || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != n-1 {
		return false
	}
	for _, r := range info.Cluster.Replicas {
		if !r.Current || r.Offline {
			return false
		}
	}
	return true
}

func consumerExists(js jetstream.JetStream, stream, name string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := js.Consumer(ctx, stream, name)
	return err == nil
}

// consumerIdle reports whether the durable has delivered and had acked
// everything in its stream.
func consumerIdle(js jetstream.JetStream, stream, name string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := js.Consumer(ctx, stream, name)
	if err != nil {
		return false
	}
	info := c.CachedInfo()
	return info.NumPending == 0 && info.NumAckPending == 0 && info.NumRedelivered == 0
}

// waitFor polls cond every 100 ms until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpOK(url string) bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// dockerBridgeIP is the host's address on Docker's default bridge, which
// host-gateway resolves to: the bridge's IPAM gateway, else the IPv4
// address of its interface (docker0).
func dockerBridgeIP(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("docker", "network", "inspect", "bridge", "--format",
		`{{range .IPAM.Config}}{{.Gateway}} {{end}}{{index .Options "com.docker.network.bridge.name"}}`).Output()
	if err != nil {
		t.Fatalf("finding the Docker bridge's gateway: %v", err)
	}
	fields := strings.Fields(string(out))
	for _, f := range fields {
		if ip := net.ParseIP(f); ip != nil && ip.To4() != nil {
			return f
		}
	}
	name := "docker0"
	if len(fields) > 0 {
		name = fields[len(fields)-1]
	}
	if ifc, err := net.InterfaceByName(name); err == nil {
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	t.Fatalf("the Docker bridge (%q) has no IPv4 address here", out)
	return ""
}

// freePorts returns n TCP ports free on the loopback and on every address
// at the moment of the call.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for len(ports) < n {
		ln, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("reading %s: %v (run make secrets-cluster)", path, err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

type levelCount struct{ warn, error int }

// countLogLevels counts the JSON log lines at warn and error of each
// compose service (and the nats nodes' [WRN] and [ERR] lines).
func countLogLevels(logs string) map[string]levelCount {
	m := map[string]levelCount{}
	for _, line := range strings.Split(logs, "\n") {
		svc, rest, ok := strings.Cut(line, "|")
		if !ok {
			continue
		}
		svc = strings.TrimSpace(svc)
		if i := strings.LastIndex(svc, "_"); i > 0 {
			svc = svc[:i]
		}
		c := m[svc]
		switch {
		case strings.Contains(rest, `"level":"warn"`) || strings.Contains(rest, "[WRN]"):
			c.warn++
		case strings.Contains(rest, `"level":"error"`) || strings.Contains(rest, "[ERR]"):
			c.error++
		}
		m[svc] = c
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func uuid() string {
	id, err := newDeliveryID()
	if err != nil {
		panic(err)
	}
	return id
}
