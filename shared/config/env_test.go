package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func lookupMap(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestEnv(t *testing.T) {
	t.Parallel()
	e := NewEnv(lookupMap(map[string]string{
		"S": " hello ", "I": "42", "B": "true", "D": "72h", "L": "a, b,,c", "BAD_I": "x", "BAD_D": "-1s", "EMPTY": "",
	}))
	if got := e.String("S", "d"); got != "hello" {
		t.Errorf("String = %q", got)
	}
	if got := e.String("EMPTY", "d"); got != "d" {
		t.Errorf("String(EMPTY) = %q, want default", got)
	}
	if got := e.Int("I", 0); got != 42 {
		t.Errorf("Int = %d", got)
	}
	if !e.Bool("B", false) {
		t.Error("Bool = false")
	}
	if got := e.Duration("D", 0); got != 72*time.Hour {
		t.Errorf("Duration = %v", got)
	}
	if got := strings.Join(e.List("L", nil), "|"); got != "a|b|c" {
		t.Errorf("List = %q", got)
	}
	if e.Err() != nil {
		t.Fatalf("Err = %v before bad values", e.Err())
	}
	if got := e.Int("BAD_I", 7); got != 7 {
		t.Errorf("Int(BAD_I) = %d, want default", got)
	}
	e.Duration("BAD_D", 0)
	err := e.Err()
	if err == nil || !strings.Contains(err.Error(), "BAD_I") || !strings.Contains(err.Error(), "BAD_D") {
		t.Fatalf("Err = %v, want both bad names", err)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	s := Secret("hunter2")
	type C struct{ Token Secret }
	b, _ := json.Marshal(C{s})
	for _, out := range []string{s.String(), fmt.Sprintf("%v %s %+v %#v", s, s, C{s}, C{s}), string(b)} {
		if strings.Contains(out, "hunter2") {
			t.Fatalf("secret leaked in %q", out)
		}
	}
	if s.Reveal() != "hunter2" {
		t.Fatal("Reveal lost the value")
	}
}
