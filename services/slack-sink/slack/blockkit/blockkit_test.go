package blockkit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/services/slack-sink/slack/message"
	"github.com/ghnotify/ghnotify/shared/event"
)

func TestMrkdwn(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "hello", "hello"},
		{"bold", "*bold* text", "<b>bold</b> text"},
		{"italic", "an _italic_ word", "an <i>italic</i> word"},
		{"strike", "~gone~", "<s>gone</s>"},
		{"code", "run `make *test*`", `run <code class="bk-code">make *test*</code>`},
		{"not bold inside a word", "a*b*c", "a*b*c"},
		{"not bold before a space", "* not bold*", "* not bold*"},
		{"nested", "*bold _and italic_*", "<b>bold <i>and italic</i></b>"},
		{"link", "<https://github.com/acme/rocket|acme/rocket>", `<a class="bk-link" href="https://github.com/acme/rocket" target="_blank" rel="noopener noreferrer">acme/rocket</a>`},
		{"bare link", "<https://example.com/a?b=1&amp;c=2>", `<a class="bk-link" href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">https://example.com/a?b=1&amp;c=2</a>`},
		{"bold link", "*<https://x.test/1|#1 Fix>*", `<b><a class="bk-link" href="https://x.test/1" target="_blank" rel="noopener noreferrer">#1 Fix</a></b>`},
		{"javascript link is text", "<javascript:alert(1)|click>", "click"},
		{"user mention", "hi <@U024BE7LH>", `hi <span class="bk-mention">@U024BE7LH</span>`},
		{"user mention with name", "<@U024BE7LH|ana>", `<span class="bk-mention">@ana</span>`},
		{"group mention", "<!subteam^SAZ94GDB8|@oncall>", `<span class="bk-mention">@oncall</span>`},
		{"group mention bare", "<!subteam^SAZ94GDB8>", `<span class="bk-mention">@SAZ94GDB8</span>`},
		{"here", "<!here>", `<span class="bk-mention">@here</span>`},
		{"channel", "<#C123|general>", `<span class="bk-mention">#general</span>`},
		{"date fallback", "<!date^1392734382^{date}|Feb 18, 2014>", "Feb 18, 2014"},
		{"escapes", "a &lt;b&gt; &amp; c", "a &lt;b&gt; &amp; c"},
		{"emoji", ":rocket: launch :nope:", `<span class="bk-emoji" title=":rocket:">🚀</span> launch :nope:`},
		{"quote", "intro\n> first\n> second\nafter", "intro<blockquote class=\"bk-quote\">first\nsecond</blockquote>after"},
		{"escaped quote", "&gt; quoted", `<blockquote class="bk-quote">quoted</blockquote>`},
		{"code block", "```\nif a < b {\n*x*\n}```", "<pre class=\"bk-pre\">if a &lt; b {\n*x*\n}</pre>"},
		{"unclosed fence", "``` open", "``` open"},
		{"unclosed link", "a <b", "a &lt;b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(Mrkdwn(c.in)); got != c.want {
				t.Errorf("Mrkdwn(%q)\n got %s\nwant %s", c.in, got, c.want)
			}
		})
	}
}

func TestRenderBlocks(t *testing.T) {
	msg := `{"text":"fallback","blocks":[
		{"type":"header","text":{"type":"plain_text","text":":rocket: Release &lt;v1&gt;","emoji":true}},
		{"type":"section","text":{"type":"mrkdwn","text":"*hi*"},"fields":[{"type":"mrkdwn","text":"_f1_"},{"type":"plain_text","text":"*f2*"}]},
		{"type":"divider"},
		{"type":"context","elements":[{"type":"mrkdwn","text":"by <https://github.com/ana|@ana>"},{"type":"image","image_url":"https://x.test/a.png","alt_text":"ana"}]},
		{"type":"actions","elements":[]}]}`
	got, err := Render([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<div class="bk-header"><span class="bk-emoji" title=":rocket:">🚀</span> Release &lt;v1&gt;</div>`,
		`<div class="bk-text"><b>hi</b></div>`,
		`<div class="bk-field"><i>f1</i></div><div class="bk-field">*f2*</div>`,
		`<hr class="bk-divider">`,
		`<span class="bk-context-el">by <a class="bk-link" href="https://github.com/ana"`,
		`<span class="bk-context-img" title="ana">`,
		`(a actions block, not drawn here)`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "x.test/a.png") {
		t.Error("an image URL was drawn: the browser would fetch it")
	}
	if _, err := Render([]byte("{")); err == nil {
		t.Error("invalid JSON rendered without error")
	}
	noBlocks, err := Render([]byte(`{"text":"*only* text"}`))
	if err != nil || !strings.Contains(string(noBlocks), "<b>only</b> text") {
		t.Errorf("a message without blocks: %s, %v", noBlocks, err)
	}
}

// TestHostileGitHubText renders ghnotify's own message for an event whose
// every string is hostile, and checks that none of it became markup.
func TestHostileGitHubText(t *testing.T) {
	evil := `<script>alert(1)</script><img src=x onerror=alert(1)> "' & <@U1> <!channel> *x*`
	ev := &event.Event{ID: "d1/0", Data: event.Data{
		Kind:       "issues.opened",
		Repository: &event.Repository{FullName: evil, URL: "javascript:alert(1)"},
		Actor:      event.Actor{Login: evil, URL: "https://github.com/\"><script>"},
		Target:     &event.Target{Number: 7, Title: evil, Body: evil + "\n```" + evil + "```", URL: "https://github.com/a/b/issues/7?q=\"><script>", Labels: []string{evil}},
	}}
	b, err := message.Render(ev).MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Render(b)
	if err != nil {
		t.Fatal(err)
	}
	checkMarkup(t, string(got))
	for _, bad := range []string{"<script", "<img", "javascript:"} {
		if strings.Contains(string(got), bad) {
			t.Errorf("hostile text %q reached the HTML:\n%s", bad, got)
		}
	}
}

// ownTag matches every tag the renderer emits, and nothing else.
var ownTag = regexp.MustCompile(`^<(/?(div|span|b|i|s|code|pre|blockquote)|hr)( class="bk-[a-z-]+"( title="[^"<>]*")?)?>|^<a class="bk-link" href="[^"<>]*" target="_blank" rel="noopener noreferrer">|^</a>`)

// checkMarkup fails when out holds a '<' that does not start one of the
// renderer's own tags.
func checkMarkup(t *testing.T, out string) {
	t.Helper()
	for i := strings.IndexByte(out, '<'); i >= 0; {
		loc := ownTag.FindStringIndex(out[i:])
		if loc == nil {
			t.Fatalf("markup not of the renderer's own at %d: %q", i, out[i:min(len(out), i+80)])
		}
		next := strings.IndexByte(out[i+loc[1]:], '<')
		if next < 0 {
			break
		}
		i += loc[1] + next
	}
	if strings.Contains(out, "href=\"javascript") || strings.Contains(out, "href=\"data:") {
		t.Fatalf("unsafe link in %q", out)
	}
}

// TestEveryLayoutEmojiIsDrawn greps the layouts for the shortcodes they
// use: each must be in the emoji map.
func TestEveryLayoutEmojiIsDrawn(t *testing.T) {
	files, err := filepath.Glob("../message/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no layouts found: %v", err)
	}
	re := regexp.MustCompile(`":([a-z0-9_+-]+):|[" ]:([a-z0-9_+-]+):[ "]`)
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			name := m[1] + m[2]
			seen++
			if _, ok := Emoji(name); !ok {
				t.Errorf("%s uses :%s:, which the console cannot draw: add it to the emoji map", f, name)
			}
		}
	}
	if seen == 0 {
		t.Fatal("found no shortcode in the layouts: the pattern is wrong")
	}
}

func FuzzRender(f *testing.F) {
	f.Add("*b* _i_ ~s~ `c` <https://x.test|x> <@U1> :rocket: &lt;&gt;&amp;\n> q\n```pre```")
	f.Add("<javascript:alert(1)|x> <a href=x> \"' <<>> *_~`")
	f.Add("*<https://x.test/\"onmouseover=\"|*x*>*")
	f.Fuzz(func(t *testing.T, s string) {
		checkMarkup(t, string(Mrkdwn(s)))
		b, _ := json.Marshal(map[string]any{"text": s, "blocks": []any{
			map[string]any{"type": "header", "text": map[string]any{"type": "plain_text", "text": s}},
			map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": s}},
			map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": s}, map[string]any{"type": "image", "alt_text": s}}},
			map[string]any{"type": s},
		}})
		out, err := Render(b)
		if err != nil {
			t.Fatalf("rendering valid JSON: %v", err)
		}
		checkMarkup(t, string(out))
	})
}
