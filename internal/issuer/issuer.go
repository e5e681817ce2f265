// Package issuer derives and checks OpenID provider issuer URLs, shared by
// oktasso's Config and package bearer's Config.
package issuer

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// FromDomain derives the issuer from an Okta domain as people paste it:
// "dev-123.okta.com", "https://dev-123.okta.com/", the admin console's
// "dev-123-admin.okta.com", or a URL that already ends in "/oauth2/{id}".
// serverIDName is how errors name the setting that holds authServerID.
func FromDomain(domain, authServerID, serverIDName string) (string, error) {
	scheme, d := cutScheme(strings.TrimSpace(domain))
	d = strings.TrimRight(d, "/")
	host, path, _ := strings.Cut(d, "/")
	if path != "" {
		id, err := serverIDFromPath(domain, path, authServerID, serverIDName)
		if err != nil {
			return "", err
		}
		authServerID = id
	}
	if host == "" || strings.ContainsAny(host, "?#@ ") {
		return "", fmt.Errorf("%q is not a domain; write e.g. dev-123.okta.com", domain)
	}
	iss := scheme + "://" + withoutAdmin(host)
	if authServerID != "" {
		if strings.ContainsAny(authServerID, "/?#% ") {
			return "", fmt.Errorf("authorization server id %q is not valid; write e.g. default", authServerID)
		}
		iss += "/oauth2/" + authServerID
	}
	return iss, nil
}

// cutScheme removes an https:// or http:// prefix from d and returns the
// scheme the issuer uses: https unless d says http.
func cutScheme(d string) (scheme, rest string) {
	if rest, ok := strings.CutPrefix(d, "https://"); ok {
		return "https", rest
	}
	if rest, ok := strings.CutPrefix(d, "http://"); ok {
		return "http", rest
	}
	return "https", d
}

// serverIDFromPath reads the authorization server id from the path of a
// pasted domain, which must be "oauth2/{id}" (or "oauth2/{id}/v1"), and
// checks it against authServerID when that is set too.
func serverIDFromPath(domain, path, authServerID, serverIDName string) (string, error) {
	id, ok := strings.CutPrefix(path, "oauth2/")
	id = strings.TrimSuffix(id, "/v1")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", fmt.Errorf("%q has a path; write just the domain, e.g. dev-123.okta.com", domain)
	}
	if authServerID != "" && authServerID != id {
		return "", fmt.Errorf("%q names authorization server %q but %s is %q; keep one", domain, id, serverIDName, authServerID)
	}
	return id, nil
}

// withoutAdmin maps the admin console's host to the issuer's:
// dev-123-admin.okta.com → dev-123.okta.com. Other hosts are unchanged.
func withoutAdmin(host string) string {
	if label, rest, ok := strings.Cut(host, "."); ok && strings.HasSuffix(label, "-admin") && isOktaHost(rest) {
		return strings.TrimSuffix(label, "-admin") + "." + rest
	}
	return host
}

// oktaDomains are the domains of Okta's own hosts.
var oktaDomains = []string{"okta.com", "oktapreview.com", "okta-emea.com", "okta-gov.com", "okta.mil"}

func isOktaHost(h string) bool {
	for _, s := range oktaDomains {
		if h == s {
			return true
		}
	}
	return false
}

// onOktaDomain reports whether host is one of Okta's own hosts, such as
// dev-123.okta.com or acme.oktapreview.com (a custom domain is not).
func onOktaDomain(host string) bool {
	host = strings.ToLower(host)
	for _, s := range oktaDomains {
		if strings.HasSuffix(host, "."+s) {
			return true
		}
	}
	return false
}

// Normalize returns a configured issuer as it is compared with the
// provider's: verbatim, a trailing slash included, since a provider's
// issuer may end in one (OpenID Connect Core 3.1.3.7 compares exactly);
// only on an Okta host, whose issuers never end in "/", is a pasted
// trailing slash dropped.
func Normalize(iss string) string {
	if u, err := url.Parse(iss); err == nil && onOktaDomain(u.Hostname()) {
		return strings.TrimRight(iss, "/")
	}
	return iss
}

// DiscoveryURL returns the URL of iss's discovery document: iss without
// one trailing slash, then "/.well-known/openid-configuration" (OpenID
// Connect Discovery 1.0 section 4).
func DiscoveryURL(iss string) string {
	return strings.TrimSuffix(iss, "/") + "/.well-known/openid-configuration"
}

// Check accepts https URLs, and http only on loopback hosts.
func Check(iss string) error {
	u, err := url.Parse(iss)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q is not an issuer URL; write e.g. https://dev-123.okta.com", iss)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if IsLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%q uses http; only loopback issuers may, use https", iss)
	}
	return fmt.Errorf("%q must use https", iss)
}

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
