// Package clientauth authenticates an OAuth 2.0 client at a provider's
// token and introspection endpoints with one of the token endpoint
// authentication methods: client_secret_basic, client_secret_post,
// private_key_jwt (RFC 7523) or none (a public client). oktasso's root
// package uses it for the code exchange and refresh, package bearer for
// introspection.
package clientauth

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oktasso/oktasso/internal/clientkey"
)

// The token endpoint authentication methods (RFC 7591 section 2).
const (
	SecretBasic   = "client_secret_basic"
	SecretPost    = "client_secret_post"
	PrivateKeyJWT = "private_key_jwt"
	None          = "none"
)

// maxFormBytes bounds a token request body the assertion transport rewrites.
const maxFormBytes = 64 << 10

// Default picks the method when none is configured: private_key_jwt with a
// key, client_secret_basic with a secret, none (a public client) with
// neither.
func Default(method, secret, key string) string {
	switch {
	case method != "":
		return method
	case key != "":
		return PrivateKeyJWT
	case secret != "":
		return SecretBasic
	}
	return None
}

// Problem is a configuration problem, named by the setting it is about
// ("PrivateKey", "ClientSecret", "ClientAuth").
type Problem struct{ Field, Msg string }

// Check validates the credentials a method needs: exactly one of a secret
// and a key, and a key that loads. keyName is how the message names the
// setting that holds the key (e.g. an environment variable).
func Check(method, secret, key, kid, keyName string) *Problem {
	switch method {
	case SecretBasic, SecretPost:
		if key != "" {
			return &Problem{"PrivateKey", fmt.Sprintf("is set but the client authentication method is %s; remove one, or use private_key_jwt", method)}
		}
	case PrivateKeyJWT:
		if key == "" {
			return &Problem{"ClientAuth", fmt.Sprintf("private_key_jwt needs a private key; set %s to the key (PEM or JWK) or a file holding it", keyName)}
		}
		if secret != "" {
			return &Problem{"ClientSecret", "is set but the client authentication method is private_key_jwt; remove the secret"}
		}
		if _, err := LoadKey(key, kid); err != nil {
			return &Problem{"PrivateKey", err.Error()}
		}
	case None:
		if secret != "" || key != "" {
			return &Problem{"ClientAuth", "is none (a public client) but a secret or key is set; remove it, or choose the method that uses it"}
		}
	default:
		return &Problem{"ClientAuth", fmt.Sprintf("%q is not supported; use client_secret_basic, client_secret_post, private_key_jwt or none", method)}
	}
	return nil
}

// LoadKey loads a private_key_jwt key. Its errors never repeat the value,
// which may be a mangled key rather than a path.
func LoadKey(key, kid string) (*clientkey.Key, error) {
	k, err := clientkey.Load(key, kid)
	if err != nil {
		if _, ok := errors.AsType[*fs.PathError](err); ok {
			return nil, errors.New("is neither a PEM key, a JWK nor the path of a readable file")
		}
		return nil, fmt.Errorf("is not a usable key: %s", strings.TrimPrefix(err.Error(), "clientkey: "))
	}
	return k, nil
}

// Creds are a client's credentials. Immutable; safe for concurrent use.
type Creds struct {
	id     string
	secret string
	method string
	key    *clientkey.Key // PrivateKeyJWT only
	now    func() time.Time
}

// New validates and loads a client's credentials; method may be empty for
// the default. Its errors read "Field: problem"; keyName is as for Check.
func New(id, secret, method, key, kid, keyName string, now func() time.Time) (*Creds, error) {
	method = Default(method, secret, key)
	if p := Check(method, secret, key, kid, keyName); p != nil {
		return nil, fmt.Errorf("%s: %s", p.Field, p.Msg)
	}
	if now == nil {
		now = time.Now
	}
	c := &Creds{id: id, secret: secret, method: method, now: now}
	if method == PrivateKeyJWT {
		k, err := LoadKey(key, kid)
		if err != nil {
			return nil, fmt.Errorf("PrivateKey: %w", err)
		}
		c.key = k
	}
	return c, nil
}

// Method returns the authentication method.
func (c *Creds) Method() string { return c.method }

// String names the client and method, never the secret or key.
func (c *Creds) String() string { return "client " + c.id + " (" + c.method + ")" }

// Apply adds the client's credentials to a form to be POSTed to endpoint,
// or to h for client_secret_basic.
func (c *Creds) Apply(form url.Values, h http.Header, endpoint string) error {
	switch c.method {
	case SecretBasic:
		// RFC 6749 2.3.1: both parts form-urlencoded first.
		cred := url.QueryEscape(c.id) + ":" + url.QueryEscape(c.secret)
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cred)))
	case SecretPost:
		form.Set("client_id", c.id)
		form.Set("client_secret", c.secret)
	case PrivateKeyJWT:
		a, err := c.key.Assertion(c.id, endpoint, c.now())
		if err != nil {
			return fmt.Errorf("oktasso: %w", err)
		}
		form.Set("client_id", c.id)
		form.Set("client_assertion_type", clientkey.AssertionType)
		form.Set("client_assertion", a)
	default:
		form.Set("client_id", c.id)
	}
	return nil
}

// HTTPClient returns base for the secret-based methods, which x/oauth2
// sends itself, and for private_key_jwt a copy of base whose transport adds
// a fresh client assertion to every form POST: x/oauth2 has no hook for
// assertions on refresh, and this way the code exchange and the refresh
// share one path.
func (c *Creds) HTTPClient(base *http.Client) *http.Client {
	if c.method != PrivateKeyJWT {
		return base
	}
	hc := *base
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	hc.Transport = &assertionTransport{base: rt, creds: c}
	return &hc
}

// assertionTransport adds a private_key_jwt client assertion, with the
// request's URL as audience, to form-encoded POSTs. Safe for concurrent use.
type assertionTransport struct {
	base  http.RoundTripper
	creds *Creds
}

// RoundTrip implements http.RoundTripper.
func (t *assertionTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || req.Body == nil || !strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return t.base.RoundTrip(req)
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxFormBytes+1))
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(body) > maxFormBytes {
		return nil, errors.New("oktasso: token request body too large")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("oktasso: token request body: %w", err)
	}
	u := *req.URL
	u.RawQuery, u.Fragment = "", ""
	if err := t.creds.Apply(form, nil, u.String()); err != nil {
		return nil, err
	}
	enc := form.Encode()
	r2 := req.Clone(req.Context())
	r2.Body = io.NopCloser(strings.NewReader(enc))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(enc)), nil }
	r2.ContentLength = int64(len(enc))
	return t.base.RoundTrip(r2)
}
