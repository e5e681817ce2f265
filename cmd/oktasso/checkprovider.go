package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/internal/clientauth"
	"github.com/oktasso/oktasso/internal/issuer"
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
		// Many standard providers have none (RP-initiated logout is an
		// optional part of OpenID Connect): sign-out still works, locally.
		c.add(warn("sign-out", "nothing to do if that is acceptable; "+c.providerName()+" may offer back-channel logout instead (register the back-channel logout URI below)",
			"discovery has no end_session_endpoint: sign-out ends the app's session only, and the %s session stays", c.providerName()))
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
	u := issuer.DiscoveryURL(c.issuer)
	issuerVar, setVar := "OKTA_DOMAIN", "OKTA_ISSUER" // what holds the issuer; what can hold any issuer
	if n, _ := firstSet(c.lookup, "OKTA_ISSUER", "OKTA_OAUTH2_ISSUER"); n != "" {
		issuerVar, setVar = n, n
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
		why := "they must match exactly"
		if strings.TrimSuffix(m.Issuer, "/") == strings.TrimSuffix(c.issuer, "/") {
			why = "they differ only by a trailing slash, which counts: they must match exactly"
		}
		c.add(fail(name, "set "+setVar+"="+m.Issuer, "the discovered issuer %q is not the configured %q (%s)", m.Issuer, c.issuer, why))
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

// checkAlgs are the ID-token signature algorithms the library accepts
// (its signingAlgs), in its order: a provider's tokens are held to the
// ones of these it advertises, RS256 when it advertises none.
var checkAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// acceptedAlgs returns the algorithms of checkAlgs the provider advertises
// in id_token_signing_alg_values_supported, as the library picks them.
func acceptedAlgs(advertised []string) []string {
	if len(advertised) == 0 {
		return []string{"RS256"}
	}
	var algs []string
	for _, a := range checkAlgs {
		if slices.Contains(advertised, a) {
			algs = append(algs, a)
		}
	}
	return algs
}

// judgeBackToApp judges an authorize answer that came back to the app's
// redirect URI: the provider accepted the URI; an error there may still
// say something about the scopes.
func (c *checker) judgeBackToApp(name, provider, redirect string, lq url.Values) {
	switch e := lq.Get("error"); e {
	case "", "login_required", "consent_required", "interaction_required", "account_selection_required":
		c.add(pass(name, "%s accepts %s", provider, redirect))
	case "invalid_scope":
		fix := "define these scopes on the authorization server, or change " + "OKTASSO_SCOPES"
		if strings.Contains(c.issuer, "/oauth2/") && slices.Contains(c.scopes, "groups") {
			fix = "remove groups from " + "OKTASSO_SCOPES" + ": custom authorization servers send groups in a claim, not a scope"
		}
		c.add(fail(name, fix, "%s refused the scopes %q: %s", provider, strings.Join(c.scopes, " "), lq.Get("error_description")))
	default:
		// The provider redirected to the app: it accepts the URI.
		c.add(pass(name, "%s accepts %s (and answered %s, which a real sign-in may not meet: %s)", provider, redirect, e, lq.Get("error_description")))
	}
}

// describeMethod says how a client authenticates, for the report.
func describeMethod(method string) string {
	switch method {
	case clientauth.None:
		return "none (public client, PKCE only)"
	case clientauth.PrivateKeyJWT:
		return "private_key_jwt, a client assertion signed with OKTA_PRIVATE_KEY"
	}
	return method
}

// credentialsOf names what a refusal of a client with method refused.
func credentialsOf(method string) string {
	switch method {
	case clientauth.None:
		return "client ID"
	case clientauth.PrivateKeyJWT:
		return "client ID or its key"
	}
	return "client ID or secret"
}

// keyType names the kind of a JWKS key that can verify a signature made
// with one of algs ("RSA", "EC", "OKP"), or "" when it cannot: an RSA key
// of at least 2048 bits for RS* and PS*, a P-256/384/521 key for
// ES256/384/512, an Ed25519 key for EdDSA; its own "alg", if any, among
// algs; its "use", if any, "sig".
func keyType(k *jose.JSONWebKey, algs []string) string {
	if k.Use != "" && k.Use != "sig" {
		return ""
	}
	for _, alg := range algs {
		if k.Algorithm != "" && k.Algorithm != alg {
			continue
		}
		if kind := keyKindFor(k.Key, alg); kind != "" {
			return kind
		}
	}
	return ""
}

// keyKindFor names the kind of the public key pub when it can verify a
// signature made with alg, or "".
func keyKindFor(pub any, alg string) string {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if (strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")) && pub.N.BitLen() >= 2048 {
			return "RSA"
		}
	case *ecdsa.PublicKey:
		if ecCurve[alg] != nil && pub.Curve == ecCurve[alg] {
			return "EC"
		}
	case ed25519.PublicKey:
		if alg == "EdDSA" {
			return "OKP"
		}
	}
	return ""
}

// ecCurve is the curve each ES algorithm signs with.
var ecCurve = map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}

// checkKeys counts the JWKS keys usable to verify ID tokens signed with
// the algorithms the provider advertises.
func (c *checker) checkKeys(ctx context.Context, m *discovery) {
	const name = "signing keys"
	algs := acceptedAlgs(m.SigningAlgs)
	if len(algs) == 0 {
		c.add(fail(name, "configure the provider (or this client at the provider) to sign ID tokens with one of "+strings.Join(checkAlgs, ", "),
			"id_token_signing_alg_values_supported lists %s, none of which oktasso accepts", listOrNone(m.SigningAlgs)))
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
	var types []string
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if k.UnmarshalJSON(raw) != nil {
			continue
		}
		if t := keyType(&k, algs); t != "" {
			usable++
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	if usable == 0 {
		c.add(fail(name, "check the provider's signing keys; it must publish the keys it signs ID tokens with",
			"%s has %d key(s), none usable for %s", m.JWKSURI, len(set.Keys), strings.Join(algs, ", ")))
		return
	}
	c.add(pass(name, "%d %s key(s) for %s at %s", usable, strings.Join(types, "/"), strings.Join(algs, ", "), m.JWKSURI))
}

// checkClient probes the token endpoint with a code that cannot exist,
// authenticated as the app will be (clientauth, as the library does):
// invalid_client means the credentials are wrong, invalid_grant that the
// provider accepted them and only refused the code.
func (c *checker) checkClient(ctx context.Context, m *discovery) {
	const name = "client credentials"
	provider := c.providerName()
	creds, err := clientauth.New(c.cfg.Client.ID, string(c.cfg.Client.Secret), string(c.cfg.Client.AuthMethod),
		string(c.cfg.Client.PrivateKey), c.cfg.Client.PrivateKeyID, "OKTA_PRIVATE_KEY", c.now)
	if err != nil {
		c.add(skip(name, "fix the client authentication configuration above"))
		return
	}
	method := creds.Method()
	described := describeMethod(method)
	// OKTA_PRIVATE_KEY alone does not make private_key_jwt: the library
	// reads it only with OKTA_CLIENT_AUTH_METHOD=private_key_jwt.
	_, key := firstSet(c.lookup, "OKTA_PRIVATE_KEY")
	strayKey := key != "" && method != clientauth.PrivateKeyJWT
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {"oktasso-check-probe"},
		"redirect_uri":  {c.base + oktasso.CallbackPath},
		"code_verifier": {randomString(32)},
	}
	h := http.Header{}
	if err := creds.Apply(form, h, m.TokenEndpoint); err != nil {
		c.add(fail(name, "check OKTA_PRIVATE_KEY", "%s", errText(err)))
		return
	}
	req, err := http.NewRequest(http.MethodPost, m.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		c.add(fail(name, "check the issuer", "token_endpoint %q: %s", m.TokenEndpoint, errText(err)))
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if v := h.Get("Authorization"); v != "" {
		req.Header.Set("Authorization", v)
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
	const useKey = "set OKTA_CLIENT_AUTH_METHOD=private_key_jwt: OKTA_PRIVATE_KEY is read only with it"
	switch oe.Error {
	case "invalid_grant":
		if strayKey {
			c.add(warn(name, useKey+", if the app is to authenticate with that key",
				"client credentials accepted (%s, client ID %s), but OKTA_PRIVATE_KEY is set and not used", described, c.cfg.Client.ID))
			return
		}
		c.add(pass(name, "client credentials accepted (%s, client ID %s)", described, c.cfg.Client.ID))
	case "invalid_client":
		c.add(fail(name, clientFix(method, strayKey, useKey), "%s refused the %s (%s; sent with %s)", provider, credentialsOf(method), said, described))
	case "unauthorized_client":
		c.add(fail(name, "allow the authorization code grant for the client (Okta: tick Grant type: Authorization Code on the app's General tab)", "%s answered %s", provider, said))
	case "":
		c.add(fail(name, "check the issuer; if "+provider+" is down, try again later",
			"%s answered HTTP %d without an OAuth error: %s", m.TokenEndpoint, resp.StatusCode, snippet(body)))
	default:
		c.add(fail(name, "see "+provider+"'s answer; check the client's settings", "%s answered HTTP %d %s", m.TokenEndpoint, resp.StatusCode, said))
	}
}

// clientFix is what to do when the provider refuses the credentials of
// method.
func clientFix(method string, strayKey bool, useKey string) string {
	switch {
	case strayKey:
		return useKey
	case method == clientauth.None:
		return "copy the client ID again (Okta: the app's General tab); if the app has a client secret, set OKTA_CLIENT_SECRET"
	case method == clientauth.PrivateKeyJWT:
		return "register the public key of OKTA_PRIVATE_KEY on the client (`oktasso keygen --jwk` prints one; Okta: the app → General → Client Credentials → Public key / Private key), " +
			"set OKTA_PRIVATE_KEY_ID to its key id there, and let the client authenticate with private_key_jwt"
	}
	return "copy them again from the app's General tab"
}

// checkRedirect sends an authorize request with prompt=none, so no one has
// to sign in, and reads the answer without following redirects. A provider
// that accepts the redirect URI redirects to it (with login_required when
// there is no session), or shows its own sign-in or connector page (a 200
// page, or a redirect to it: Dex, for one, ignores prompt=none). Only an
// explicit refusal of the redirect URI (or of the client, or the scopes)
// is a ✗.
func (c *checker) checkRedirect(ctx context.Context, m *discovery) {
	const name = "sign-in redirect URI"
	provider := c.providerName()
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
	registerFix := "add " + redirect + " to the app's Sign-in redirect URIs (General tab → Login)"
	if provider != "Okta" {
		registerFix = "add " + redirect + " to the client's redirect URIs at " + provider
	}
	loc, _ := resp.Location()
	redirected := resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != nil
	switch {
	case redirected && strings.HasPrefix(loc.String(), redirect):
		c.judgeBackToApp(name, provider, redirect, loc.Query())
	case redirected:
		// Elsewhere: the provider's own sign-in page, or its error page.
		if text := loc.Query().Get("error") + " " + loc.Query().Get("error_description"); refusesRedirectURI(text) {
			c.add(fail(name, registerFix, "%s refused %s as a sign-in redirect URI: %s", provider, redirect, strings.TrimSpace(text)))
			return
		}
		c.add(pass(name, "%s did not refuse %s (it sent the browser to %s, its sign-in page)", provider, redirect, pathOf(loc)))
	default:
		c.judgePage(name, registerFix, provider, redirect, resp.StatusCode, body)
	}
}

// judgePage judges an authorize answer that did not redirect: a page of
// the provider's own passes unless it refuses the redirect URI; an error
// status fails, naming the likely cause.
func (c *checker) judgePage(name, registerFix, provider, redirect string, status int, body []byte) {
	switch {
	case status >= 200 && status < 300:
		// A page of the provider's own: sign-in, connector choice, consent.
		if text := pageText(body); refusesRedirectURI(text) {
			c.add(fail(name, registerFix, "%s refused %s as a sign-in redirect URI (HTTP %d: %s)", provider, redirect, status, snippet([]byte(text))))
			return
		}
		c.add(pass(name, "%s did not refuse %s (it showed its own page, HTTP %d)", provider, redirect, status))
	case strings.Contains(string(body), "redirect_uri") || refusesRedirectURI(pageText(body)):
		c.add(fail(name, registerFix,
			"%s refused %s as a sign-in redirect URI (HTTP %d)", provider, redirect, status))
	case strings.Contains(string(body), "client_id"):
		c.add(fail(name, "copy the client ID again (Okta: the app's General tab)",
			"%s does not know the client ID %s (HTTP %d)", provider, c.cfg.Client.ID, status))
	default:
		c.add(fail(name, "make sure "+redirect+" is a sign-in redirect URI of the client (Okta: the app's General tab → Login)",
			"the authorize request was refused with HTTP %d", status))
	}
}

// redirectURIError matches a provider's words for a refused redirect URI:
// an error code (redirect_uri_mismatch, invalid_redirect_uri), or
// "redirect_uri", "redirect URI" or "callback URL" a few words from an
// error word, before or after it.
var redirectURIError = func() *regexp.Regexp {
	const (
		uri   = `(redirect[ _-]?uri|callback[ _-]?url)`
		bad   = `(invalid|unregistered|unknown|mismatch\w*|missing|bad|wrong|not (registered|allowed|valid|permitted|whitelisted|configured|listed|found|in|match\w*)|does not match|doesn't match|must be)`
		words = `\W+(\w+\W+){0,8}?`
	)
	return regexp.MustCompile(`(?i)redirect_uri_mismatch|invalid_redirect_uri|` + uri + words + bad + `|` + bad + words + uri)
}()

// refusesRedirectURI reports whether text explicitly refuses a redirect URI.
func refusesRedirectURI(text string) bool { return redirectURIError.MatchString(text) }

// pageText is what a page says: its text without tags, scripts and
// styles, whose attributes (a login page's links carry redirect_uri in
// their query) are not what it says.
func pageText(body []byte) string {
	s := scriptOrStyle.ReplaceAllString(string(body), " ")
	s = tag.ReplaceAllString(s, " ")
	return strings.Join(strings.Fields(html.UnescapeString(s)), " ")
}

var (
	scriptOrStyle = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)\s*>`)
	tag           = regexp.MustCompile(`(?s)<[^>]*>`)
)

// pathOf is a URL without its query, for a report line.
func pathOf(u *url.URL) string {
	v := *u
	v.RawQuery, v.Fragment = "", ""
	return v.String()
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
