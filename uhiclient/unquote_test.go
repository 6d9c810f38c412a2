package uhiclient

import (
	"encoding/json"
	"strings"
	"testing"
)

// unquoteJSON must agree with encoding/json on every valid literal.
func FuzzUnquoteJSON(f *testing.F) {
	for _, s := range []string{"", "plain", "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n", `{"type":"OFFER"}`, "<>&", "héllo ☺ 😀", "\x00\x1f", "\xed\xa0\x80", "\xff\xfe", "a\\b/c"} {
		b, _ := json.Marshal(s)
		f.Add(string(b))
	}
	f.Add(`"\ud83d\ude00 \ud83d x \u00e9 \/ \' "`)
	f.Fuzz(func(t *testing.T, lit string) {
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			return // only validated literals reach unquoteJSON
		}
		// encoding/json hands UnmarshalJSON the literal without surrounding
		// space, and ContentValue trims it too.
		lit = strings.TrimSpace(lit)
		if lit == "" || lit[0] != '"' {
			return
		}
		got, ok := unquoteJSON([]byte(lit))
		if !ok || got != want {
			t.Fatalf("unquote(%q) = %q, encoding/json says %q", lit, got, want)
		}
	})
}

func TestUnquoteJSONCases(t *testing.T) {
	for _, lit := range []string{`""`, `"abc"`, `"a\"b\\c\/d\n\r\t\b\f"`, `"\u00e9\u20ac"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00x"`, "\"\xff\"", `"日本"`} {
		var want string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatal(lit, err)
		}
		got, ok := unquoteJSON([]byte(lit))
		if !ok || got != want {
			t.Errorf("unquote(%s) = %q %v, want %q", lit, got, ok, want)
		}
	}
}
