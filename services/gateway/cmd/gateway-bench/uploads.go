package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ghnotify/ghnotify/services/gateway"
	"github.com/ghnotify/ghnotify/shared/embedded"
	"github.com/rs/zerolog"
)

// uploadSecret signs the uploads of the memory measurement (at least 16
// bytes, so the gateway does not warn about it).
const uploadSecret = "upload-bench-secret-0123456789"

// uploadScenario is one kind of large upload sent concurrently.
type uploadScenario struct {
	name string
	// headers: GitHub headers and content type; signed: a valid signature
	// (else a well-formed wrong one, when headers are sent); chunked: no
	// Content-Length.
	headers, signed, chunked bool
}

var uploadScenarios = []uploadScenario{
	{name: "no GitHub headers"},
	{name: "wrong signature", headers: true},
	{name: "wrong signature, chunked", headers: true, chunked: true},
	{name: "valid signature", headers: true, signed: true},
	{name: "valid signature, chunked", headers: true, signed: true, chunked: true},
}

// runUploads measures the peak resident memory of the real gateway binary
// while o.uploads concurrent uploads of o.uploadSize bytes arrive, for each
// scenario in turn, each against a fresh gateway process connected to one
// JetStream server running in this process.
func runUploads(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "gateway-upload-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := o.gatewayBin
	if bin == "" {
		bin = filepath.Join(dir, "gateway")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/gateway")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building the gateway (run from services/gateway, or give -gateway-bin): %w", err)
		}
	}
	// The embedded server listens only with credentials: the gateway
	// connects with the NKey seed file, as against any secured NATS.
	key, _, _, err := embedded.LoadOrCreateUserKey(filepath.Join(dir, "nats-user.nk"))
	if err != nil {
		return err
	}
	ns, err := embedded.Start(embedded.Config{StoreDir: filepath.Join(dir, "js"), ClientAddr: "127.0.0.1:0", MaxPayload: 8 << 20, User: key}, zerolog.Nop())
	if err != nil {
		return err
	}
	defer ns.Shutdown()

	fmt.Printf("%d concurrent uploads of %d bytes per scenario; gateway binary %s, GHNOTIFY_MAX_INFLIGHT_BYTES %s\n\n",
		o.uploads, o.uploadSize, bin, orDefault(os.Getenv("GHNOTIFY_MAX_INFLIGHT_BYTES"), "default"))
	fmt.Println("| scenario | answers | gateway RSS before | gateway peak RSS (VmHWM) |")
	fmt.Println("|---|---|---:|---:|")
	for i, sc := range uploadScenarios {
		answers, before, peak, err := uploadScenarioRun(ctx, o, bin, ns.ClientURL(), key.SeedFile(), filepath.Join(dir, "gateway-"+strconv.Itoa(i)+".log"), sc)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		fmt.Printf("| %s | %s | %d MB | %d MB |\n", sc.name, answers, before>>20, peak>>20)
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// uploadScenarioRun starts a gateway process, sends the uploads, and
// returns the answers by status, the resident memory once ready and the
// peak resident memory of the process.
func uploadScenarioRun(ctx context.Context, o options, bin, natsURL, nkeyFile, logPath string, sc uploadScenario) (string, int64, int64, error) {
	httpAddr, err := freeAddr()
	if err != nil {
		return "", 0, 0, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", 0, 0, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "NATS_URL="+natsURL, "NATS_NKEY="+nkeyFile, "GHNOTIFY_HTTP_ADDR="+httpAddr, "GHNOTIFY_OPS_ADDR=off",
		"GITHUB_WEBHOOK_SECRET="+uploadSecret, "GHNOTIFY_DEDUPE_BODIES=false", "GHNOTIFY_HTTP_READ_TIMEOUT=60s",
		"GHNOTIFY_HTTP_WRITE_TIMEOUT=90s", "GHNOTIFY_PUBLISH_TIMEOUT=60s")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return "", 0, 0, err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	if err := waitReady("http://" + httpAddr + "/readyz"); err != nil {
		return "", 0, 0, err
	}
	before, _ := procStatus(cmd.Process.Pid, "VmRSS")

	var (
		mu     sync.Mutex
		counts = map[string]int{}
		wg     sync.WaitGroup
	)
	client := &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxConnsPerHost: 0, DisableKeepAlives: true}}
	for i := range o.uploads {
		wg.Go(func() {
			key := strconv.Itoa(i)
			answer, err := sendUpload(ctx, client, "http://"+httpAddr+gateway.WebhookPath, key, int64(o.uploadSize), sc)
			switch {
			case err == nil:
			case errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET):
				// Refused before the body was read: the gateway answered
				// and closed the connection while the body was being sent.
				answer = "closed while sending"
			default:
				answer = "error: " + err.Error()
			}
			mu.Lock()
			counts[answer]++
			mu.Unlock()
		})
	}
	wg.Wait()
	peak, err := procStatus(cmd.Process.Pid, "VmHWM")
	if err != nil {
		return "", 0, 0, err
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%d× %s", counts[k], k))
	}
	return strings.Join(parts, ", "), before, peak, nil
}

// sendUpload posts one upload of size bytes, generated as it is sent (the
// load generator holds none of it), and returns the answer's status.
func sendUpload(ctx context.Context, client *http.Client, url, key string, size int64, sc uploadScenario) (string, error) {
	var sig string
	if sc.headers {
		mac := hmac.New(sha256.New, []byte(uploadSecret))
		if !sc.signed {
			mac = hmac.New(sha256.New, []byte("not-the-secret"))
		}
		if _, err := io.Copy(mac, uploadBody(key, size)); err != nil {
			return "", err
		}
		sig = "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, uploadBody(key, size))
	if err != nil {
		return "", err
	}
	req.ContentLength = size
	if sc.chunked {
		req.ContentLength = -1
	}
	if sc.headers {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", "upload-"+key+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	res, err := client.Do(req)
	if err != nil {
		return "", err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return strconv.Itoa(res.StatusCode), nil
}

// uploadBody generates a JSON document of exactly size bytes, unique to key.
func uploadBody(key string, size int64) io.Reader {
	head := `{"upload":"` + key + `","pad":"`
	tail := `"}`
	pad := size - int64(len(head)+len(tail))
	return io.MultiReader(strings.NewReader(head), io.LimitReader(repeatReader('x'), pad), strings.NewReader(tail))
}

// repeatReader reads one byte forever.
type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// procStatus returns a "kB" field of /proc/<pid>/status in bytes.
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("reading process status (Linux only): %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New(field + " not in /proc status")
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
