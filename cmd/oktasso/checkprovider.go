package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/oktasso/oktasso"
)

// discovery is what the checks read from the provider's discovery
// document, decoded here rather than through the library so that the
// report shows what the provider says, before the library's own checks.
type discovery struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	EndSessionEndpoint    string   `json:"end_session_endpoint"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
	SigningAlgs           []string `json:"id_token_signing_alg_values_supported"`
}

// checkProvider checks the live provider at c.issuer: discovery, clock,
// keys, PKCE, logout, client credentials and the redirect URI.
func (c *checker) checkProvider(ctx context.Context) {
	meta := c.checkDiscovery(ctx)
	dependents := []string{"signing keys", "PKCE", "sign-out", "client credentials", "sign-in redirect URI"}
	if meta == nil {
		for _, n := range dependents {
			c.add(skip(n, "discovery failed"))
		}
		return
	}
	c.checkKeys(ctx, meta)
	if slices.Contains(meta.CodeChallengeMethods, "S256") {
		c.add(pass("PKCE", "S256 supported"))
	} else {
		c.add(fail("PKCE", "point the issuer at an Okta authorization server (they all support S256)",
			"discovery does not list S256 in code_challenge_methods_supported (%s)", listOrNone(meta.CodeChallengeMethods)))
	}
	if meta.EndSessionEndpoint != "" {
		c.add(pass("sign-out", "end_session_endpoint %s", meta.EndSessionEndpoint))
	} else {
		c.add(fail("sign-out", "use an Okta authorization server, which always has one",
			"discovery has no end_session_endpoint: sign-out would be local only and the Okta session would stay"))
	}
	if c.cfg.Client.ID == "" || c.base == "" {
		c.add(skip("client credentials", "fix the client ID and base URL configuration above"))
		c.add(skip("sign-in redirect URI", "fix the client ID and base URL configuration above"))
		return
	}
	c.checkClient(ctx, meta)
	c.checkRedirect(ctx, meta)
}

// do sends req with the check's timeout and reads at most maxBody bytes.
func (c *checker) do(ctx context.Context, client *http.Client, req *http.Request) (*http.Response, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return resp, nil, fmt.Errorf("reading the response: %w", err)
	}
	if len(body) > maxBody {
		return resp, nil, fmt.Errorf("the response is larger than %d bytes", maxBody)
	}
	return resp, body, nil
}

func (c *checker) get(ctx context.Context, u string) (*http.Response, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	return c.do(ctx, c.client, req)
}

func isHTML(resp *http.Response) bool {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return mt == "text/html"
}

// checkDiscovery fetches and checks the discovery document, and the clock
// against its Date header. It returns nil when discovery failed.
func (c *checker) checkDiscovery(ctx context.Context) *discovery {
	const name = "discovery"
	u := c.issuer + "/.well-known/openid-configuration"
	issuerVar := "OKTA_DOMAIN"
	if n, _ := firstSet(c.lookup, "OKTA_ISSUER", "OKTA_OAUTH2_ISSUER"); n != "" {
		issuerVar = n
	}
	resp, body, err := c.get(ctx, u)
	// The clock line follows the discovery line, whatever it says.
	defer func() {
		if resp != nil {
			c.checkClock(resp)
		} else {
			c.add(skip("clock", "no answer from the provider"))
		}
	}()
	switch {
	case resp == nil:
		c.add(fail(name, "check "+issuerVar+" and that this machine reaches it (proxy, firewall, DNS)",
			"cannot reach %s: %s", u, errText(err)))
		return nil
	case err != nil:
		c.add(fail(name, "check "+issuerVar, "%s: %s", u, errText(err)))
		return nil
	case isHTML(resp):
		c.add(fail(name, "the domain is wrong: set "+issuerVar+" to your Okta org's domain, e.g. dev-123.okta.com (not the admin console nor the app's URL)",
			"%s answered HTTP %d with an HTML page, not JSON", u, resp.StatusCode))
		return nil
	case resp.StatusCode == http.StatusNotFound:
		fix := "check " + issuerVar + ": no authorization server is at this issuer"
		if strings.Contains(c.issuer, "/oauth2/") {
			fix = "check the authorization server id in " + issuerVar + " (Okta admin console → Security → API → Authorization Servers)"
		}
		c.add(fail(name, fix, "%s answered HTTP 404", u))
		return nil
	case resp.StatusCode != http.StatusOK:
		c.add(fail(name, "check "+issuerVar+"; if Okta is down, try again later", "%s answered HTTP %d", u, resp.StatusCode))
		return nil
	}
	var m discovery
	if err := json.Unmarshal(body, &m); err != nil {
		c.add(fail(name, "check "+issuerVar, "%s is not a discovery document (%s)", u, errText(err)))
		return nil
	}
	if m.Issuer != c.issuer {
		c.add(fail(name, "set "+"OKTA_ISSUER"+"="+m.Issuer,
			"the discovered issuer %q is not the configured %q (they must match exactly)", m.Issuer, c.issuer))
		return nil
	}
	var missing []string
	for _, ep := range []struct{ name, v string }{
		{"authorization_endpoint", m.AuthorizationEndpoint}, {"token_endpoint", m.TokenEndpoint}, {"jwks_uri", m.JWKSURI},
	} {
		if ep.v == "" {
			missing = append(missing, ep.name)
		}
	}
	if len(missing) > 0 {
		c.add(fail(name, "point the issuer at an Okta authorization server", "%s lacks %s", u, strings.Join(missing, ", ")))
		return nil
	}
	c.add(pass(name, "%s (issuer matches)", u))
	return &m
}

// checkClock compares the local clock with the provider's Date header.
func (c *checker) checkClock(resp *http.Response) {
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		c.add(skip("clock", "the provider sent no Date header"))
		return
	}
	// Date is truncated to the second: the server's clock read in the
	// middle of that second, on average.
	skew := c.now().Sub(date.Add(500 * time.Millisecond)).Round(time.Second)
	abs := max(skew, -skew)
	if abs > maxClockSkew {
		dir := "ahead of"
		if skew < 0 {
			dir = "behind"
		}
		c.add(fail("clock", "synchronise this machine's clock (NTP); the server running the app needs it too",
			"this machine's clock is %s %s the provider's (more than %s): ID tokens would be refused", abs, dir, maxClockSkew))
		return
	}
	c.add(pass("clock", "within %s of the provider's (leeway %s)", max(abs, time.Second), maxClockSkew))
}

// checkKeys counts the JWKS keys usable to verify RS256 ID tokens.
func (c *checker) checkKeys(ctx context.Context, m *discovery) {
	const name = "signing keys"
	if len(m.SigningAlgs) > 0 && !slices.Contains(m.SigningAlgs, "RS256") {
		c.add(fail(name, "point the issuer at an Okta authorization server (they sign with RS256)",
			"id_token_signing_alg_values_supported does not list RS256 (%s)", listOrNone(m.SigningAlgs)))
		return
	}
	resp, body, err := c.get(ctx, m.JWKSURI)
	switch {
	case err != nil:
		c.add(fail(name, "check that this machine reaches the provider", "fetching %s: %s", m.JWKSURI, errText(err)))
		return
	case resp.StatusCode != http.StatusOK:
		c.add(fail(name, "try again later; if it persists, check the issuer", "%s answered HTTP %d", m.JWKSURI, resp.StatusCode))
		return
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		c.add(fail(name, "check the issuer", "%s is not a JWK set (%s)", m.JWKSURI, errText(err)))
		return
	}
	usable := 0
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if k.UnmarshalJSON(raw) != nil {
			continue
		}
		pub, ok := k.Key.(*rsa.PublicKey)
		if ok && (k.Use == "" || k.Use == "sig") && (k.Algorithm == "" || k.Algorithm == "RS256") && pub.N.BitLen() >= 2048 {
			usable++
		}
	}
	if usable == 0 {
		c.add(fail(name, "point the issuer at an Okta authorization server",
			"%s has %d key(s), none an RSA key usable for RS256", m.JWKSURI, len(set.Keys)))
		return
	}
	c.add(pass(name, "%d RSA key(s) for RS256 at %s", usable, m.JWKSURI))
}

// checkClient probes the token endpoint with a code that cannot exist:
// invalid_client means the credentials are wrong, invalid_grant that Okta
// accepted them and only refused the code.
func (c *checker) checkClient(ctx context.Context, m *discovery) {
	const name = "client credentials"
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {"oktasso-check-probe"},
		"redirect_uri":  {c.base + oktasso.CallbackPath},
		"code_verifier": {randomString(32)},
	}
	secret := string(c.cfg.Client.Secret)
	method := string(c.cfg.Client.AuthMethod)
	if method == "" {
		method = string(oktasso.ClientSecretBasic)
	}
	basic := false
	switch {
	case secret == "":
		method = "none (public client, PKCE only)"
		form.Set("client_id", c.cfg.Client.ID)
	case method == string(oktasso.ClientSecretPost):
		form.Set("client_id", c.cfg.Client.ID)
		form.Set("client_secret", secret)
	default:
		basic = true
	}
	req, err := http.NewRequest(http.MethodPost, m.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		c.add(fail(name, "check the issuer", "token_endpoint %q: %s", m.TokenEndpoint, errText(err)))
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		// As x/oauth2 sends them (RFC 6749 section 2.3.1).
		req.SetBasicAuth(url.QueryEscape(c.cfg.Client.ID), url.QueryEscape(secret))
	}
	resp, body, err := c.do(ctx, c.client, req)
	if err != nil {
		c.add(fail(name, "check that this machine reaches the provider", "%s: %s", m.TokenEndpoint, errText(err)))
		return
	}
	var oe struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &oe)
	said := oe.Error
	if oe.Description != "" {
		said += ": " + oe.Description
	}
	switch oe.Error {
	case "invalid_grant":
		c.add(pass(name, "client credentials accepted (%s, client ID %s)", method, c.cfg.Client.ID))
	case "invalid_client":
		fix := "copy them again from the app's General tab"
		if secret == "" {
			fix = "copy the client ID again from the app's General tab; if the app has a client secret, set " + "OKTA_CLIENT_SECRET"
		}
		c.add(fail(name, fix, "%s refused the client ID or secret (%s; sent with %s)", c.providerName(), said, method))
	case "unauthorized_client":
		c.add(fail(name, "allow the authorization code grant for the client (Okta: tick Grant type: Authorization Code on the app's General tab)", "%s answered %s", c.providerName(), said))
	case "":
		c.add(fail(name, "check the issuer; if "+c.providerName()+" is down, try again later",
			"%s answered HTTP %d without an OAuth error: %s", m.TokenEndpoint, resp.StatusCode, snippet(body)))
	default:
		c.add(fail(name, "see "+c.providerName()+"'s answer; check the client's settings", "%s answered HTTP %d %s", m.TokenEndpoint, resp.StatusCode, said))
	}
}

// checkRedirect sends an authorize request with prompt=none, so no one has
// to sign in: Okta redirects to a registered redirect URI (with
// login_required when there is no Okta session) and shows an error page
// for an unregistered one.
func (c *checker) checkRedirect(ctx context.Context, m *discovery) {
	const name = "sign-in redirect URI"
	redirect := c.base + oktasso.CallbackPath
	verifier := randomString(32)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id":             {c.cfg.Client.ID},
		"redirect_uri":          {redirect},
		"response_type":         {"code"},
		"scope":                 {strings.Join(c.scopes, " ")},
		"state":                 {randomString(16)},
		"nonce":                 {randomString(16)},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
		"prompt":                {"none"},
	}
	u, err := url.Parse(m.AuthorizationEndpoint)
	if err != nil {
		c.add(fail(name, "check the issuer", "authorization_endpoint %q: %s", m.AuthorizationEndpoint, errText(err)))
		return
	}
	u.RawQuery = q.Encode()
	req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
	noFollow := *c.client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, body, err := c.do(ctx, &noFollow, req)
	if err != nil {
		c.add(fail(name, "check that this machine reaches the provider", "%s: %s", m.AuthorizationEndpoint, errText(err)))
		return
	}
	loc, _ := resp.Location()
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != nil && strings.HasPrefix(loc.String(), redirect):
		lq := loc.Query()
		switch e := lq.Get("error"); e {
		case "", "login_required", "consent_required", "interaction_required":
			c.add(pass(name, "Okta accepts %s", redirect))
		case "invalid_scope":
			fix := "define these scopes on the authorization server, or change " + "OKTASSO_SCOPES"
			if strings.Contains(c.issuer, "/oauth2/") && slices.Contains(c.scopes, "groups") {
				fix = "remove groups from " + "OKTASSO_SCOPES" + ": custom authorization servers send groups in a claim, not a scope"
			}
			c.add(fail(name, fix, "Okta refused the scopes %q: %s", strings.Join(c.scopes, " "), lq.Get("error_description")))
		default:
			c.add(fail(name, "see Okta's answer; check the app's General tab", "Okta answered %s: %s", e, lq.Get("error_description")))
		}
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		c.add(pass(name, "Okta accepts %s", redirect))
	case strings.Contains(string(body), "redirect_uri"):
		c.add(fail(name, "add "+redirect+" to the app's Sign-in redirect URIs (General tab → Login)",
			"Okta refused %s as a sign-in redirect URI (HTTP %d)", redirect, resp.StatusCode))
	case strings.Contains(string(body), "client_id"):
		c.add(fail(name, "copy the client ID again from the app's General tab",
			"Okta does not know the client ID %s (HTTP %d)", c.cfg.Client.ID, resp.StatusCode))
	default:
		c.add(fail(name, "make sure "+redirect+" is a Sign-in redirect URI of the app (General tab → Login)",
			"the authorize request was refused with HTTP %d", resp.StatusCode))
	}
}

// randomString returns n random bytes, base64url without padding.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// errText is an error's message on one line, without the method and URL
// that net/http puts in front (the report names the URL already).
func errText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// snippet is the start of a response body on one line, for a report.
func snippet(b []byte) string {
	s := []rune(strings.Join(strings.Fields(string(b)), " "))
	if len(s) > 200 {
		s = append(s[:200], []rune("...")...)
	}
	if len(s) == 0 {
		return "(empty body)"
	}
	return string(s)
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none listed"
	}
	return strings.Join(l, ", ")
}
