package oktasso

import (
	"net/url"
	"strings"
)

const maxReturnToLen = 2048

// safePath returns p when it is a same-origin relative path that every
// browser resolves on this origin, and "/" otherwise. It refuses
// scheme-relative ("//evil.com"), backslash ("/\evil.com"), absolute,
// whitespace and control-character variants (browsers drop tabs and
// newlines, turning "/\t/evil.com" into "//evil.com"), dot segments, and
// overlong values.
// An accepted path is returned unchanged, query included.
func safePath(p string) string {
	if p == "" || len(p) > maxReturnToLen || p[0] != '/' {
		return "/"
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return "/"
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c == '\\' || c == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	// A path whose decoded form starts with "//" or "/\" is refused too, in
	// case something between here and the browser decodes it.
	if d := u.Path; len(d) > 1 && (d[1] == '/' || d[1] == '\\') {
		return "/"
	}
	// Dot segments ("/a/../b", "%2e%2e" too, since u.Path is decoded) are
	// refused: resolved by the browser, they could climb out of an
	// application mounted under a path (a tenant's base path).
	for seg := range strings.SplitSeq(u.Path, "/") {
		if seg == "." || seg == ".." {
			return "/"
		}
	}
	return p
}
