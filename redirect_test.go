package oktasso

import (
	"net/url"
	"strings"
	"testing"
)

func TestSafePath(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"/workspace", "/workspace"},
		{"/webapp/x?tab=1&y=%2F", "/webapp/x?tab=1&y=%2F"},
		{"/", "/"},
		{"", "/"},
		{"workspace", "/"},
		{"//evil.com", "/"},
		{"//evil.com/path", "/"},
		{"/\\evil.com", "/"},
		{"\\\\evil.com", "/"},
		{"/\\/evil.com", "/"},
		{"https://evil.com", "/"},
		{"http:evil.com", "/"},
		{"javascript:alert(1)", "/"},
		{"/%2F%2Fevil.com", "/"},
		{"/%5Cevil.com", "/"},
		{"%2F%2Fevil.com", "/"},
		{"/\t/evil.com", "/"},
		{"/\n/evil.com", "/"},
		{"/\r\n/evil.com", "/"},
		{" /evil", "/"},
		{"/ok path", "/"},
		{"/x\x00", "/"},
		{"/x\x7f", "/"},
		{"/" + strings.Repeat("a", 3000), "/"},
		{"/@evil.com", "/@evil.com"}, // a path on this origin, not a userinfo
		{"/.//evil.com", "/"},
		{"/t/a/../b/webapp", "/"},
		{"/t/a/%2e%2e/b", "/"},
		{"/t/a/%2E%2E/b", "/"},
		{"/t/a/./x", "/"},
		{"/t/a/..", "/"},
		{"/files/..hidden/x", "/files/..hidden/x"},
		{"/x?next=/../y", "/x?next=/../y"}, // the query is not a path
	}
	for _, tt := range tests {
		if got := safePath(tt.in); got != tt.want {
			t.Errorf("safePath(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzSafePath checks that whatever safePath accepts resolves, against a
// base URL, to that same origin.
func FuzzSafePath(f *testing.F) {
	for _, s := range []string{"/a", "//evil.com", "/\\evil.com", "/%2f%2fevil", "https://evil.com", "/\t/x", "/a?b=c#d", "/.//x"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://app.example.com/")
	f.Fuzz(func(t *testing.T, in string) {
		out := safePath(in)
		if out != "/" && out != in {
			t.Fatalf("safePath(%q) = %q; want the input or /", in, out)
		}
		ref, err := url.Parse(out)
		if err != nil {
			t.Fatalf("safePath(%q) = %q, which does not parse: %v", in, out, err)
		}
		if got := base.ResolveReference(ref); got.Host != base.Host || got.Scheme != base.Scheme {
			t.Fatalf("safePath(%q) = %q resolves to %v; want host %s", in, out, got, base.Host)
		}
		if strings.ContainsAny(out, "\\\t\r\n ") || strings.HasPrefix(out, "//") {
			t.Fatalf("safePath(%q) = %q has a character browsers rewrite", in, out)
		}
	})
}
