package webconsole

import (
	"fmt"
	"net"
	"strings"

	"github.com/ghnotify/ghnotify/shared/config"
)

// Modes of GHNOTIFY_CONSOLE.
const (
	// ModeAuto serves the console on a loopback operations address, and on
	// any other address only when GHNOTIFY_CONSOLE_TOKEN is set.
	ModeAuto = "auto"
	// ModeOn serves it, refusing to start on an address other hosts can
	// reach without a token.
	ModeOn = "true"
	// ModeOff never serves it.
	ModeOff = "false"
)

// Config is the console's configuration.
type Config struct {
	// Mode is GHNOTIFY_CONSOLE: auto (default), true or false.
	Mode string
	// Token, when set, is required to use the console
	// (GHNOTIFY_CONSOLE_TOKEN); it must be set for an operations address
	// other than loopback.
	Token config.Secret
}

// FromEnv reads GHNOTIFY_CONSOLE and GHNOTIFY_CONSOLE_TOKEN, and checks
// them against the operations address opsAddr.
func FromEnv(e *config.Env, opsAddr string) Config {
	c := Config{Mode: strings.ToLower(e.String("GHNOTIFY_CONSOLE", ModeAuto)), Token: e.Secret("GHNOTIFY_CONSOLE_TOKEN", "")}
	if _, err := c.Serve(opsAddr); err != nil {
		e.Fail(err)
	}
	return c
}

// Serve reports whether the console is served on the operations address
// addr ("" or "off": no address, so no console). It refuses (an error) a
// console explicitly turned on for an address other hosts can reach
// without a token.
func (c Config) Serve(addr string) (bool, error) {
	switch c.Mode {
	case ModeAuto, "":
	case ModeOn, "1", "yes", "on":
	case ModeOff, "0", "no", "off":
		return false, nil
	default:
		return false, fmt.Errorf("GHNOTIFY_CONSOLE must be auto, true or false, not %q", c.Mode)
	}
	if addr == "" || addr == "off" {
		return false, nil
	}
	if c.Token.IsSet() || Loopback(addr) {
		return true, nil
	}
	if c.Mode == ModeAuto || c.Mode == "" {
		return false, nil
	}
	return false, fmt.Errorf("GHNOTIFY_CONSOLE is on and GHNOTIFY_OPS_ADDR %s can be reached from other hosts: set GHNOTIFY_CONSOLE_TOKEN (the token the console asks for), or use a loopback address such as 127.0.0.1:9093", addr)
}

// Why says, for the log, why the console is not served on addr.
func (c Config) Why(addr string) string {
	switch {
	case c.Mode == ModeOff || c.Mode == "0" || c.Mode == "no" || c.Mode == "off":
		return "GHNOTIFY_CONSOLE is false"
	case addr == "" || addr == "off":
		return "the operations address is off"
	default:
		return "GHNOTIFY_OPS_ADDR " + addr + " is not loopback and GHNOTIFY_CONSOLE_TOKEN is not set"
	}
}

// Loopback reports whether a host:port listens on loopback only.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
