package chromium

import "testing"

func TestPathPrefersTheEnvironment(t *testing.T) {
	t.Setenv("CHROMIUM", "/opt/my/chromium")
	if got := Path(); got != "/opt/my/chromium" {
		t.Errorf("Path() = %q, want $CHROMIUM", got)
	}
	t.Setenv("CHROMIUM", "")
	t.Setenv("PATH", t.TempDir())
	if got := Path(); got != "" {
		t.Errorf("Path() = %q with an empty PATH, want \"\"", got)
	}
}
