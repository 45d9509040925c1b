// Package webconsole is ghnotify's operations web console: the recent
// deliveries with their fate at each stage (live), one delivery's timeline
// with its payload, events and messages, the dead letters (and their
// redrive), the routes in force with a tester, and the inbox of what the
// console destination posted, drawn as Slack shows it. It is served on the
// operations address, never on the webhook port; it is built with the
// standard library alone (html/template, embed, a little plain JavaScript
// and Server-Sent Events) and fetches nothing from elsewhere.
//
// Its data is behind small interfaces (DeliveryLister, Payloads,
// DeadLetters, Changes, RoutesSource, Inbox); Store implements the first
// four over JetStream.
//
// Security: every change is a POST carrying a CSRF token (double-submit
// cookie, checked in constant time, plus the Origin); with a token
// configured every request needs it (a cookie set by the login form, or
// Authorization: Bearer); without one, only requests whose Host is a
// loopback name are answered, so a web page cannot reach the console
// through DNS rebinding. Every text from GitHub is escaped by html/template
// or by package blockkit; secrets (webhook URLs, tokens) are never shown.
package webconsole

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ghnotify/ghnotify/shared/config"
	"github.com/rs/zerolog"
)

// Prefix is where the console is served on the operations address.
const Prefix = "/console/"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Sources are where the console reads from and acts on. Any may be nil:
// its page then says it is not available.
type Sources struct {
	Deliveries  DeliveryLister
	Payloads    Payloads
	DeadLetters DeadLetters
	Changes     Changes
	Routes      RoutesSource
	Inbox       Inbox
	// Normalize lets the routes tester take a pasted payload; without it
	// the tester takes stored deliveries only (their stored events).
	Normalize Normalizer
}

// Options configure a console.
type Options struct {
	// Token, when set, is required of every request.
	Token config.Secret
	Log   zerolog.Logger
	// Window is how far back the deliveries page looks by default (24h).
	Window time.Duration
	// MaxStreams bounds the live (SSE) connections at once (16).
	MaxStreams int
}

// Console is the console's HTTP handler, to be mounted at Prefix.
type Console struct {
	src     Sources
	opts    Options
	tmpl    map[string]*template.Template
	mux     *http.ServeMux
	streams atomic.Int64
	// session is the cookie value proving the token was given: an HMAC
	// of the token, so the cookie never holds the token itself.
	session string
}

const (
	sessionCookie = "ghnotify_console"
	csrfCookie    = "ghnotify_csrf"
	csrfField     = "csrf"
)

// New returns the console over src.
func New(src Sources, opts Options) *Console {
	if opts.Window <= 0 {
		opts.Window = 24 * time.Hour
	}
	if opts.MaxStreams <= 0 {
		opts.MaxStreams = 16
	}
	c := &Console{src: src, opts: opts, tmpl: parseTemplates(), mux: http.NewServeMux()}
	if opts.Token.IsSet() {
		m := hmac.New(sha256.New, []byte(opts.Token.Reveal()))
		m.Write([]byte("ghnotify console session"))
		c.session = hex.EncodeToString(m.Sum(nil))
	}
	static, _ := fs.Sub(staticFS, "static")
	c.mux.Handle("GET "+Prefix+"static/", http.StripPrefix(Prefix+"static/", http.FileServerFS(static)))
	c.mux.HandleFunc("GET "+Prefix+"login", c.loginPage)
	c.mux.HandleFunc("POST "+Prefix+"login", c.login)
	c.mux.HandleFunc("GET "+Prefix+"{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"deliveries", http.StatusSeeOther)
	})
	c.mux.HandleFunc("GET "+Prefix+"deliveries", c.deliveriesPage)
	c.mux.HandleFunc("GET "+Prefix+"deliveries/{id}", c.deliveryPage)
	c.mux.HandleFunc("GET "+Prefix+"events", c.deliveryEvents)
	c.mux.HandleFunc("GET "+Prefix+"dead-letters", c.deadLettersPage)
	c.mux.HandleFunc("POST "+Prefix+"dead-letters/redrive", c.redrive)
	c.mux.HandleFunc("GET "+Prefix+"routes", c.routesPage)
	c.mux.HandleFunc("POST "+Prefix+"routes/test", c.routesTest)
	c.mux.HandleFunc("GET "+Prefix+"inbox", c.inboxPage)
	c.mux.HandleFunc("GET "+Prefix+"inbox/events", c.inboxEvents)
	return c
}

// ServeHTTP checks the host, the token and, on a POST, the CSRF token,
// then serves the page.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: with no-referrer the browser sends
	// "Origin: null" on form posts, and the Origin check refuses them.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	if !c.opts.Token.IsSet() && !loopbackHost(r.Host) {
		http.Error(w, "the console answers only to a loopback host name (localhost, 127.0.0.1, [::1]) unless GHNOTIFY_CONSOLE_TOKEN is set", http.StatusMisdirectedRequest)
		return
	}
	public := strings.HasPrefix(r.URL.Path, Prefix+"static/") || r.URL.Path == Prefix+"login"
	if c.opts.Token.IsSet() && !public && !c.authorized(r) {
		if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, "/events") {
			http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
			return
		}
		http.Error(w, "the console needs its token (GHNOTIFY_CONSOLE_TOKEN)", http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodPost && !c.csrfOK(r) {
		http.Error(w, "missing or wrong CSRF token: reload the page and try again", http.StatusForbidden)
		return
	}
	c.mux.ServeHTTP(w, r)
}

// loopbackHost reports whether a Host header names a loopback host.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Console) authorized(r *http.Request) bool {
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return subtle.ConstantTimeCompare([]byte(auth), []byte(c.opts.Token.Reveal())) == 1
	}
	ck, err := r.Cookie(sessionCookie)
	return err == nil && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(c.session)) == 1
}

// csrfToken returns the request's CSRF token, setting a new one as a
// cookie when it has none.
func (c *Console) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(csrfCookie); err == nil && len(ck.Value) == 64 {
		return ck.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: tok, Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return tok
}

// csrfOK checks a POST: its form's token equals its cookie's, and its
// Origin, when the browser sent one, is the console's own.
func (c *Console) csrfOK(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host && o != "https://"+r.Host {
		return false
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	ck, err := r.Cookie(csrfCookie)
	if err != nil || len(ck.Value) != 64 {
		return false
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxForm)
	form := r.PostFormValue(csrfField)
	return subtle.ConstantTimeCompare([]byte(form), []byte(ck.Value)) == 1
}

// maxForm bounds a posted form: a pasted payload fits (GitHub sends at
// most 25 MB, the tester takes up to 5 MB).
const maxForm = 5 << 20

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, "login", page{Title: "Sign in", Data: map[string]any{"Failed": r.URL.Query().Has("failed")}})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !c.opts.Token.IsSet() {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("token")), []byte(c.opts.Token.Reveal())) != 1 {
		c.opts.Log.Warn().Str("remote", r.RemoteAddr).Msg("console sign-in with a wrong token")
		http.Redirect(w, r, Prefix+"login?failed", http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: c.session, Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}
