package gateway

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ghnotify/ghnotify/services/gateway/internal/loadtest"
)

var jsonCases = []string{
	`{}`, `[]`, `{"a":1}`, ` {"a" : [1, 2.5, -3e10, 0.1E+2, true, false, null, "x\u00e9\n"]} `,
	`"s"`, `0`, `-0`, `1e5`, `null`, `true`, `[[[]]]`, `{"a":{"b":{}}}`, `"\/\b\f\r\t\\\""`,
	``, ` `, `{`, `}`, `[`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `01`, `1.`, `.1`, `-`, `1e`, `1e+`,
	`+1`, `tru`, `truex`, `nul`, `nulll`, `"abc`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"a\x01\"", `{"a":1}{}`, `[1 2]`,
	`{"a" 1}`, `{1:2}`, `"\u"`, "\"\xff\xfe\"", "[1]\x00", `{"a":[}`, `[}`, `{]`, `NaN`, `Infinity`, `0x10`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat("[", 9999) + "{}" + strings.Repeat("]", 9999),
	strings.Repeat("[", 10000) + "{}" + strings.Repeat("]", 10000),
}

func TestValidJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, c := range jsonCases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%.40q) = %v, encoding/json says %v", c, got, want)
		}
	}
}

func TestValidJSONPayloads(t *testing.T) {
	t.Parallel()
	for _, sp := range samplePayloads(t) {
		if !validJSON(sp.body) {
			t.Errorf("%s refused", sp.name)
		}
		if validJSON(sp.body[:len(sp.body)/2]) {
			t.Errorf("half of %s accepted", sp.name)
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, c := range jsonCases {
		if len(c) < 1000 {
			f.Add([]byte(c))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, encoding/json says %v", b, got, want)
		}
	})
}

func BenchmarkValidJSON(b *testing.B) {
	payload, _ := loadtest.Payload(7 << 10)
	b.SetBytes(int64(len(payload)))
	b.Run("validJSON", func(b *testing.B) {
		for b.Loop() {
			if !validJSON(payload) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			if !json.Valid(payload) {
				b.Fatal("refused")
			}
		}
	})
}
