package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ghnotify/ghnotify/shared/corpus"
	"github.com/ghnotify/ghnotify/shared/natstest"
	"github.com/ghnotify/ghnotify/shared/provision"
	"github.com/nats-io/nats.go"
)

// recipeContext is the nats CLI context every documented recipe uses.
const recipeContext = "nats --context ghnotify "

// docRecipe is one nats CLI command found in the documentation.
type docRecipe struct {
	file, cmd string
}

var (
	inlineNATS = regexp.MustCompile("`(nats [^`]+)`")
	fenceLine  = regexp.MustCompile("^```")
)

// natsRecipes returns every nats CLI command in README.md and docs/*.md:
// lines of code blocks that start with "nats ", without their trailing
// comment, and inline code spans that do.
func natsRecipes(t *testing.T, root string) []docRecipe {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{filepath.Join(root, "README.md")}, files...)
	var out []docRecipe
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		inCode := false
		for _, line := range strings.Split(string(b), "\n") {
			if fenceLine.MatchString(line) {
				inCode = !inCode
				continue
			}
			if inCode {
				if strings.HasPrefix(strings.TrimSpace(line), "nats ") {
					out = append(out, docRecipe{rel, stripComment(strings.TrimSpace(line))})
				}
				continue
			}
			for _, m := range inlineNATS.FindAllStringSubmatch(line, -1) {
				out = append(out, docRecipe{rel, m[1]})
			}
		}
	}
	return out
}

// stripComment removes a shell comment (an unquoted " #") from a line.
func stripComment(line string) string {
	quoted := false
	for i, r := range line {
		switch {
		case r == '\'':
			quoted = !quoted
		case r == '#' && !quoted && i > 0 && line[i-1] == ' ':
			return strings.TrimSpace(line[:i])
		}
	}
	return line
}

// shellWords splits a command line the way a shell would for the forms the
// documentation uses: words separated by spaces, single-quoted parts kept
// whole.
func shellWords(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool
		any   bool
	)
	for _, r := range s {
		switch {
		case r == '\'':
			in, any = !in, true
		case r == ' ' && !in:
			if any {
				words = append(words, cur.String())
				cur.Reset()
				any = false
			}
		case strings.ContainsRune("\"$`\\|;&<>()*?", r) && !in:
			return nil, errors.New("unquoted shell metacharacter " + string(r))
		default:
			cur.WriteRune(r)
			any = true
		}
	}
	if in {
		return nil, errors.New("unterminated quote")
	}
	if any {
		words = append(words, cur.String())
	}
	return words, nil
}

func TestShellWords(t *testing.T) {
	for in, want := range map[string]string{
		`nats --context ghnotify sub --stream S 'github.event.>' --all`: "nats|--context|ghnotify|sub|--stream|S|github.event.>|--all",
		`nats kv get b '<delivery>.normalizer'`:                         "nats|kv|get|b|<delivery>.normalizer",
	} {
		got, err := shellWords(in)
		if err != nil || strings.Join(got, "|") != want {
			t.Errorf("shellWords(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := shellWords(`nats sub github.event.> --all`); err == nil {
		t.Error("an unquoted > was accepted")
	}
	if got := stripComment(`nats stream ls   # GHNOTIFY_RAW, 'x'`); got != "nats stream ls" {
		t.Errorf("stripComment = %q", got)
	}
}

// TestNATSRecipes runs every nats CLI command of README.md and docs/*.md
// with the real nats CLI (bin/nats, `make nats`) against the real
// `ghnotify run`, through the context `ghnotify nats-context` writes, after
// one delivery went through. Each must succeed without a terminal, and
// those that read the delivery must show it.
func TestNATSRecipes(t *testing.T) {
	t.Parallel()
	root := corpus.RepoRoot(t)
	recipes := natsRecipes(t, root)
	if len(recipes) < 15 {
		t.Fatalf("found %d nats recipes in the documentation; the extraction is broken", len(recipes))
	}
	for _, r := range recipes {
		// `nats context ...` manages contexts and needs no server.
		if !strings.HasPrefix(r.cmd, recipeContext) && !strings.HasPrefix(r.cmd, "nats context ") {
			t.Errorf("%s: %q does not use the context (%q...): without credentials NATS refuses it", r.file, r.cmd, recipeContext)
		}
	}
	natsBin := filepath.Join(root, "bin", "nats")
	if _, err := os.Stat(natsBin); err != nil {
		t.Skip("bin/nats is missing: run `make nats` to build the nats CLI (tools/go.mod); the documented nats recipes were not run")
	}
	bin := filepath.Join(binaries(t), "ghnotify")

	tmp := t.TempDir()
	dataDir := filepath.Join(tmp, "data")
	// `ghnotify nats-context`, the documented recipe, needs a fixed NATS
	// port (it refuses port 0), so that one is named before the start.
	natsAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	env := childEnv(
		"GHNOTIFY_DATA_DIR="+dataDir,
		"GHNOTIFY_HTTP_ADDR=127.0.0.1:0",
		"GHNOTIFY_NATS_LISTEN="+natsAddr,
		"GHNOTIFY_LOG_FORMAT=json",
		"XDG_CONFIG_HOME="+filepath.Join(tmp, "config"),
		"HOME="+tmp,
	)
	runProc := startProc(t, "ghnotify run", bin, env, "run")
	httpAddr := runProc.httpAddr(t)
	waitHealthy(t, "http://"+httpAddr, 30*time.Second)

	ctxCmd := exec.Command(bin, "nats-context")
	ctxCmd.Env = env
	if out, err := ctxCmd.CombinedOutput(); err != nil {
		t.Fatalf("ghnotify nats-context: %v\n%s", err, out)
	}

	send := exec.Command(bin, "send", "--url", "http://"+httpAddr+"/webhooks/github", filepath.Join(root, "examples", "issues-opened.json"))
	send.Env = env
	out, err := send.CombinedOutput()
	if err != nil {
		t.Fatalf("ghnotify send: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`delivery (\S+) `).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no delivery id in the output of ghnotify send:\n%s", out)
	}
	delivery := string(m[1])

	// Wait until the sink has settled the event, so every stage's trace
	// record is written.
	key, err := nats.NkeyOptionFromSeed(NATSKeyFilePath(dataDir))
	if err != nil {
		t.Fatal(err)
	}
	_, js := natstest.Connect(t, "nats://"+natsAddr, key)
	ctx := context.Background()
	natstest.WaitFor(t, 30*time.Second, "the sink to settle the event", func() bool {
		c, err := js.Consumer(ctx, provision.StreamEvents, provision.ConsumerSlackSink)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.Delivered.Stream >= 1 && info.NumPending == 0 && info.NumAckPending == 0
	})
	natstest.WaitFor(t, 30*time.Second, "the console notification", func() bool {
		return strings.Contains(runProc.stdout.String(), "Launch countdown skips from 3 to 1")
	})

	rawStream, err := js.Stream(ctx, provision.StreamRaw)
	if err != nil {
		t.Fatal(err)
	}
	rawMsg, err := rawStream.GetLastMsgForSubject(ctx, "github.raw.issues")
	if err != nil {
		t.Fatal(err)
	}
	rawSeq := strconv.FormatUint(rawMsg.Sequence, 10)

	runNATS := func(t *testing.T, args ...string) (string, string, error) {
		c, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(c, natsBin, args...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if c.Err() != nil {
			t.Fatalf("nats %s did not finish within 60s (does it wait for a terminal or for more messages?)\n%s%s",
				strings.Join(args, " "), stdout.String(), stderr.String())
		}
		return stdout.String(), stderr.String(), err
	}

	// Without the context the server refuses the CLI.
	if _, stderr, err := runNATS(t, "--server", "nats://"+natsAddr, "stream", "ls"); err == nil || !strings.Contains(stderr, "Authorization Violation") {
		t.Fatalf("nats without credentials: err %v, stderr %q; want an authorization violation", err, stderr)
	}

	// What some recipes must show: the part of the command, and the text.
	shows := []struct{ cmd, want string }{
		{"stream ls", "GHNOTIFY_RAW"},
		{"sub --stream GHNOTIFY_EVENTS 'github.event.>' --all", delivery},
		{"sub --stream GHNOTIFY_RAW github.raw.issues", delivery},
		{"stream get GHNOTIFY_RAW --last-for github.raw.issues", delivery},
		{"stream get GHNOTIFY_EVENTS --last-for", delivery},
		{"consumer ls GHNOTIFY_RAW", provision.ConsumerNormalizer},
		{"sub --stream GHNOTIFY_TRACE 'ghnotify.trace.>' --all", "Ghnotify-Trace-Key: " + delivery + ".normalizer"},
		{"'github.event.*.*.*.opened'", delivery},
		// docs/operations.md
		{"sub --stream GHNOTIFY_TRACE 'ghnotify.trace.>' --since 1h", `"raw_sequence"`},
		{"stream get GHNOTIFY_RAW <raw-sequence>", delivery},
		{"sub --stream GHNOTIFY_EVENTS 'github.event.acme.rocket.>' --all --headers-only", "X-GitHub-Delivery: " + delivery},
		{"sub --stream GHNOTIFY_RAW github.raw.issues --since 24h --headers-only", delivery},
		{"pub github.raw.ping", "GHNOTIFY_RAW"},
		{"stream info GHNOTIFY_DLQ", "GHNOTIFY_DLQ"},
		{"stream purge GHNOTIFY_EVENTS --subject 'github.event.acme.attic.>'", "GHNOTIFY_EVENTS"},
	}
	for _, r := range recipes {
		t.Run(r.file+": "+strings.TrimPrefix(r.cmd, recipeContext), func(t *testing.T) {
			cmdline := strings.NewReplacer("<delivery>", delivery, "<raw-sequence>", rawSeq).Replace(r.cmd)
			words, err := shellWords(cmdline)
			if err != nil {
				t.Fatalf("%q: %v", r.cmd, err)
			}
			stdout, stderr, err := runNATS(t, words[1:]...)
			if err != nil && strings.Contains(r.cmd, " cluster step-down ") && strings.Contains(stderr, "is not clustered") {
				// A recipe for a cluster of NATS servers: against the
				// single embedded server, the CLI parsed it and the server
				// answered that the stream is not clustered.
				return
			}
			if err != nil {
				t.Fatalf("%s failed: %v\nstdout:\n%s\nstderr:\n%s", cmdline, err, stdout, stderr)
			}
			for _, s := range shows {
				if strings.Contains(r.cmd, s.cmd) && !strings.Contains(stdout+stderr, s.want) {
					t.Errorf("%s does not show %q:\n%s%s", cmdline, s.want, stdout, stderr)
				}
			}
		})
	}

	// The ping published by hand in docs/operations.md is a replay: the
	// normalizer and the sink trace it as one, and the ghnotify operations
	// commands, run as users run them against the embedded server, show it.
	ghnotify := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ghnotify %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	natstest.WaitFor(t, 30*time.Second, "the sink's record of the ping published by hand", func() bool {
		cmd := exec.Command(bin, "trace", "manual-ping-1")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return err == nil && strings.Contains(string(out), "posted ping.received to console (route") && strings.Contains(string(out), "replay by-hand-1")
	})
	if out := ghnotify("trace", delivery); !strings.Contains(out, "posted issues.opened to console") || !strings.Contains(out, "stored raw #"+rawSeq) {
		t.Errorf("ghnotify trace %s:\n%s", delivery, out)
	}
	if out := ghnotify("deliveries", "--since", "1h"); !strings.Contains(out, delivery) || !strings.Contains(out, "manual-ping-1") {
		t.Errorf("ghnotify deliveries:\n%s", out)
	}
	if out := ghnotify("dlq", "list"); !strings.Contains(out, "no dead letters") {
		t.Errorf("ghnotify dlq list:\n%s", out)
	}
}
