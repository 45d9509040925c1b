// Package chromium finds the headless Chromium that the web console's
// browser test and the message gallery's pictures run in.
package chromium

import (
	"os"
	"os/exec"
)

// Path returns $CHROMIUM, else the first of chromium, chromium-browser
// or google-chrome on PATH, or "" when there is none (`make chromium`
// installs Debian's, as root).
func Path() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}
