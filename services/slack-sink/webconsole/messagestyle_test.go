package webconsole

import (
	"strings"
	"testing"
)

func TestMessageCSS(t *testing.T) {
	css := MessageCSS()
	for _, want := range []string{":root {", "body {", "a { color", ".slack {", ".slack-avatar {", ".bk-message {", ".bk-header .bk-emoji {", ".bk-quote {", ".bk-mention {"} {
		if !strings.Contains(css, want) {
			t.Errorf("message CSS lacks %q:\n%s", want, css)
		}
	}
	for _, unwanted := range []string{"table.list", "@media", "@keyframes", ".top", "a:hover", "button", "/*", ".inbox-msg"} {
		if strings.Contains(css, unwanted) {
			t.Errorf("message CSS has %q:\n%s", unwanted, css)
		}
	}
}

func TestCSSRules(t *testing.T) {
	css := `/* head */ a { x: 1; } @media (w) { .bk-a { y: 2; } } .bk-b, .slack-c { z: 3; } .bk-d, p { q: 4; } /* tail`
	var got []string
	for _, r := range cssRules(css) {
		got = append(got, r.selectors)
		if messageRule(r.selectors) {
			got = append(got, "kept")
		}
	}
	want := []string{"a", "kept", "@media (w)", ".bk-b, .slack-c", "kept", ".bk-d, p"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("rules:\n got %q\nwant %q", got, want)
	}
	if rs := cssRules(`.bk-x { unclosed`); len(rs) != 0 {
		t.Errorf("unclosed rule kept: %q", rs)
	}
}
