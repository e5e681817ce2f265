package oktasso

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/oktasso/oktasso/audit"
	"github.com/oktasso/oktasso/internal/httpjson"
	"github.com/oktasso/oktasso/plainoauth"
	"golang.org/x/oauth2"
)

// This file is the behaviour of a plain OAuth 2.0 provider
// (Config.OAuth2, configured with package plainoauth): its validation, its
// Provider, and the user read from its userinfo endpoint.

// maxSubjectLen bounds the subject read from a plain OAuth 2.0 userinfo
// response; it is kept in every session cookie.
const maxSubjectLen = 255

// mappingDefaults fills the OpenID Connect names in for the empty fields
// of m.
func mappingDefaults(m plainoauth.Mapping) plainoauth.Mapping {
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	return plainoauth.Mapping{
		Subject: def(m.Subject, "sub"), Email: def(m.Email, "email"), EmailVerified: def(m.EmailVerified, "email_verified"),
		Name: def(m.Name, "name"), Username: def(m.Username, "preferred_username"), Groups: def(m.Groups, "groups"),
	}
}

// normalizeOAuth2 validates Config.OAuth2 and makes Issuer its Identity.
func (c *Config) normalizeOAuth2(bad func(field, format string, args ...any)) {
	if c.OAuth2 == nil {
		return
	}
	o := *c.OAuth2
	o.Identity = strings.TrimRight(o.Identity, "/")
	if u, err := url.Parse(o.Identity); err == nil && u.Host != "" {
		u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
		o.Identity = u.String()
	}
	o.Scopes = slices.Clone(o.Scopes)
	o.Mapping = mappingDefaults(o.Mapping)
	c.OAuth2 = &o
	switch {
	case o.Identity == "":
		bad("OAuth2", "Identity is empty; name the provider with a URL, e.g. https://github.com")
	case c.Issuer != "" && strings.TrimRight(c.Issuer, "/") != o.Identity:
		bad("OAuth2", "Identity %q differs from Issuer %q; set only Identity", o.Identity, c.Issuer)
	default:
		c.Issuer = o.Identity
	}
	for _, ep := range []struct{ name, url string }{{"AuthURL", o.AuthURL}, {"TokenURL", o.TokenURL}, {"UserInfoURL", o.UserInfoURL}} {
		if err := checkEndpointURL(ep.url); err != nil {
			bad("OAuth2", "%s: %s", ep.name, err.Error())
		}
	}
	if o.Mapping.Subject == "-" {
		bad("OAuth2", "Mapping.Subject cannot be \"-\": the subject identifies the user")
	}
}

// checkEndpointURL accepts https URLs, and http only on loopback hosts.
func checkEndpointURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return fmt.Errorf("is empty")
	case err != nil || u.Host == "" || u.User != nil || u.Fragment != "":
		return fmt.Errorf("%q is not a URL", raw)
	case u.Scheme == "https", u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q must use https (http only on loopback)", raw)
}

// useOAuth2 makes p a plain OAuth 2.0 provider: its endpoints are known,
// so there is nothing to discover, and it has no signing keys (ID and
// logout tokens are refused).
func (p *Provider) useOAuth2(o *plainoauth.Provider) {
	p.ready.Store(&discovered{
		meta: metadata{Issuer: p.issuer, AuthorizationEndpoint: o.AuthURL, TokenEndpoint: o.TokenURL, UserInfoEndpoint: o.UserInfoURL},
		keys: newKeySet("", nil, p.client, p.now, p.log),
	})
}

// oauth2User reads the signed-in user of a plain OAuth 2.0 provider from
// its userinfo endpoint, through Config.OAuth2.Mapping.
func (a *Auth) oauth2User(ctx context.Context, d *discovered, tok *oauth2.Token) (*User, error) {
	ctx, cancel := context.WithTimeout(ctx, defaultHTTPTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.meta.UserInfoEndpoint, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := a.provider.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: userinfo: %w", ErrProviderUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := httpjson.ReadBody(resp, "userinfo", maxUserInfoBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrProviderUnavailable, err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, fmt.Errorf("%w: userinfo is not a JSON object", ErrProviderUnavailable)
	}
	m := a.cfg.OAuth2.Mapping
	sub := claimString(claims, m.Subject)
	if sub == "" || len(sub) > maxSubjectLen {
		return nil, tokenErrorf(audit.ReasonTokenInvalid, "userinfo has no usable %q (the subject)", m.Subject)
	}
	verified, _ := strconv.ParseBool(claimString(claims, m.EmailVerified))
	return &User{
		Issuer: a.provider.issuer, Subject: sub, Email: claimString(claims, m.Email), EmailVerified: verified,
		Name: claimString(claims, m.Name), Username: claimString(claims, m.Username), Groups: claimValues(claimAt(claims, m.Groups)),
		Claims: claims,
	}, nil
}

// claimAt follows a dotted path into nested JSON objects.
func claimAt(claims map[string]any, path string) any {
	if path == "" || path == "-" {
		return nil
	}
	var v any = claims
	for name := range strings.SplitSeq(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[name]
	}
	return v
}

// claimString returns a string, number or boolean member as text, or "".
func claimString(claims map[string]any, path string) string {
	switch v := claimAt(claims, path).(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}
