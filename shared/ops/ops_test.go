package ops

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/rs/zerolog"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestHandler(t *testing.T) {
	t.Parallel()
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "some_metric 1\n") })
	var notReady error = errors.New("still starting")
	h := Handler(false, Endpoints{Metrics: metrics, Ready: func(context.Context) error { return notReady }})
	if code, body := get(t, h, "/metrics"); code != 200 || body != "some_metric 1\n" {
		t.Fatalf("/metrics: %d %q", code, body)
	}
	if code, _ := get(t, h, "/healthz"); code != 200 {
		t.Fatalf("/healthz: %d", code)
	}
	if code, body := get(t, h, "/readyz"); code != 503 || !strings.Contains(body, "still starting") {
		t.Fatalf("/readyz while not ready: %d %q", code, body)
	}
	notReady = nil
	if code, _ := get(t, h, "/readyz"); code != 200 {
		t.Fatalf("/readyz when ready: %d", code)
	}
	if code, _ := get(t, h, "/debug/pprof/"); code != 404 {
		t.Fatalf("pprof served while off: %d", code)
	}
	if code, _ := get(t, Handler(true, Endpoints{}), "/debug/pprof/"); code != 200 {
		t.Fatalf("pprof not served when on: %d", code)
	}
}

func TestStartServesAndShutsDown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var listened net.Addr
	s, err := Start(Config{Listener: ln, OnListen: func(a net.Addr) { listened = a }}, Endpoints{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if listened == nil || s.Addr().String() != ln.Addr().String() {
		t.Fatalf("OnListen got %v, Addr %v", listened, s.Addr())
	}
	res, err := http.Get("http://" + s.Addr().String() + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", res, err)
	}
	res.Body.Close()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + s.Addr().String() + "/healthz"); err == nil {
		t.Fatal("still serving after Shutdown")
	}
}

func TestOffServesNothing(t *testing.T) {
	t.Parallel()
	for _, c := range []Config{{}, {Addr: Off}} {
		s, err := Start(c, Endpoints{}, zerolog.Nop())
		if err != nil || s != nil {
			t.Fatalf("Start(%+v) = %v, %v; want nothing started", c, s, err)
		}
		if err := s.Shutdown(context.Background()); err != nil || s.Addr() != nil {
			t.Fatal("a nil Server must be inert")
		}
	}
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) *config.Env {
		return config.NewEnv(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
	}
	e := env(nil)
	if c := FromEnv(e, DefaultGatewayAddr); c.Addr != DefaultGatewayAddr || c.Pprof || e.Err() != nil {
		t.Fatalf("defaults: %+v %v", c, e.Err())
	}
	e = env(map[string]string{"GHNOTIFY_OPS_ADDR": "off", "GHNOTIFY_PPROF": "true"})
	if c := FromEnv(e, DefaultGatewayAddr); c.Enabled() || !c.Pprof || e.Err() != nil {
		t.Fatalf("off with pprof: %+v %v", c, e.Err())
	}
	e = env(map[string]string{"GHNOTIFY_OPS_ADDR": "9090"})
	FromEnv(e, DefaultGatewayAddr)
	if e.Err() == nil || !strings.Contains(e.Err().Error(), "GHNOTIFY_OPS_ADDR") {
		t.Fatalf("a port without a host accepted: %v", e.Err())
	}
	for _, a := range []string{DefaultGatewayAddr, DefaultNormalizerAddr, DefaultSinkAddr, DefaultRunAddr} {
		host, _, _ := net.SplitHostPort(a)
		if !net.ParseIP(host).IsLoopback() {
			t.Errorf("default %s is not loopback", a)
		}
	}
}

func TestStartMountsTheConsole(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	console := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "console "+r.URL.Path) })
	s, err := Start(Config{Listener: ln, Console: console}, Endpoints{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	base := "http://" + s.Addr().String()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]string{"/console/deliveries": "console /console/deliveries", "/healthz": `"ok"`} {
		resp, err := noRedirect.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s = %d %s, want %s", path, resp.StatusCode, b, want)
		}
	}
	resp, err := noRedirect.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != ConsolePrefix {
		t.Errorf("GET / = %d %s, want a redirect to the console", resp.StatusCode, resp.Header.Get("Location"))
	}
}
