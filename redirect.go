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
	if p == "" || len(p) > maxReturnToLen || p[0] != '/' || schemeRelative(p) || hasRewrittenByte(p) {
		return "/"
	}
	u, err := url.Parse(p)
	// A path whose decoded form starts with "//" or "/\" is refused too, in
	// case something between here and the browser decodes it.
	if err != nil || !pathOnly(u) || schemeRelative(u.Path) || hasDotSegment(u.Path) {
		return "/"
	}
	return p
}

// schemeRelative reports whether p starts with "//" or "/\", which
// browsers read as a URL on another host.
func schemeRelative(p string) bool {
	return len(p) > 1 && p[0] == '/' && (p[1] == '/' || p[1] == '\\')
}

// hasRewrittenByte reports whether p has a byte browsers drop or rewrite:
// whitespace, control characters, DEL and backslash.
func hasRewrittenByte(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c == '\\' || c == 0x7f {
			return true
		}
	}
	return false
}

// pathOnly reports whether u is a path and query alone: no scheme, host,
// user info or opaque part, and a path that starts with "/".
func pathOnly(u *url.URL) bool {
	return u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == "" && strings.HasPrefix(u.Path, "/")
}

// hasDotSegment reports whether the decoded path has a "." or ".." segment
// ("/a/../b", "%2e%2e" too). Resolved by the browser, they could climb out
// of an application mounted under a path (a tenant's base path).
func hasDotSegment(path string) bool {
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}
