package oktasso

import (
	"regexp"
	"strings"
)

// cookieNameRE: no "-", which oktasso's own suffixes ("-1", "-flow-…",
// "-silent") use, so one app's or tenant's cookie names are never another's.
var cookieNameRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// checkCookieName validates Config.CookieName.
func (c *Config) checkCookieName(bad func(field, format string, args ...any)) {
	if c.CookieName == "" {
		return
	}
	if !cookieNameRE.MatchString(c.CookieName) || strings.HasPrefix(c.CookieName, "__") {
		bad("CookieName", "%q is not a cookie name; use letters, digits and _ (at most 64, not starting with __)", c.CookieName)
	}
}
