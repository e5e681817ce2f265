package oktasso

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

// maxFormBytes bounds a token request body the assertion transport rewrites.
const maxFormBytes = 64 << 10

// defaultClientAuth picks the client authentication method when none is
// configured: private_key_jwt with a key, client_secret_basic with a
// secret, none (a public client) with neither.
func defaultClientAuth(m ClientAuthMethod, secret, key Secret) ClientAuthMethod {
	switch {
	case m != "":
		return m
	case key != "":
		return PrivateKeyJWT
	case secret != "":
		return ClientSecretBasic
	}
	return ClientAuthNone
}

// configProblem names the Config field a client-authentication problem is
// about, so normalize can report it by its environment variable.
type configProblem struct{ field, msg string }

// checkClientAuth validates the credentials a method needs: exactly one of
// a secret and a key, and a key that loads.
func checkClientAuth(m ClientAuthMethod, secret, key Secret, kid string) *configProblem {
	switch m {
	case ClientSecretBasic, ClientSecretPost:
		if key != "" {
			return &configProblem{"PrivateKey", fmt.Sprintf("is set but the client authentication method is %s; remove one, or use private_key_jwt", m)}
		}
	case PrivateKeyJWT:
		if key == "" {
			return &configProblem{"AuthMethod", fmt.Sprintf("private_key_jwt needs a private key; set %s to the key (PEM or JWK) or a file holding it", envPrivateKey)}
		}
		if secret != "" {
			return &configProblem{"Secret", "is set but the client authentication method is private_key_jwt; remove the secret"}
		}
		if _, err := loadClientKey(key, kid); err != nil {
			return &configProblem{"PrivateKey", err.Error()}
		}
	case ClientAuthNone:
		if secret != "" || key != "" {
			return &configProblem{"AuthMethod", "is none (a public client) but a secret or key is set; remove it, or choose the method that uses it"}
		}
	default:
		return &configProblem{"AuthMethod", fmt.Sprintf("%q is not supported; use client_secret_basic, client_secret_post, private_key_jwt or none", string(m))}
	}
	return nil
}

// loadClientKey loads a private_key_jwt key. Its errors never repeat the
// value, which may be a mangled key rather than a path.
func loadClientKey(key Secret, kid string) (*clientkey.Key, error) {
	k, err := clientkey.Load(string(key), kid)
	if err != nil {
		if _, ok := errors.AsType[*fs.PathError](err); ok {
			return nil, errors.New("is neither a PEM key, a JWK nor the path of a readable file")
		}
		return nil, fmt.Errorf("is not a usable key: %s", strings.TrimPrefix(err.Error(), "clientkey: "))
	}
	return k, nil
}

// clientCreds authenticates a client at the token and introspection
// endpoints with one of the ClientAuthMethods. Immutable; safe for
// concurrent use.
type clientCreds struct {
	id     string
	secret Secret
	method ClientAuthMethod
	key    *clientkey.Key // PrivateKeyJWT only
	now    func() time.Time
}

// newClientCreds validates and loads a client's credentials; method may be
// empty for the default.
func newClientCreds(id string, secret Secret, method ClientAuthMethod, key Secret, kid string, now func() time.Time) (*clientCreds, error) {
	method = defaultClientAuth(method, secret, key)
	if p := checkClientAuth(method, secret, key, kid); p != nil {
		return nil, fmt.Errorf("oktasso: %s: %s", p.field, p.msg)
	}
	c := &clientCreds{id: id, secret: secret, method: method, now: now}
	if method == PrivateKeyJWT {
		k, err := loadClientKey(key, kid)
		if err != nil {
			return nil, fmt.Errorf("oktasso: PrivateKey: %w", err)
		}
		c.key = k
	}
	return c, nil
}

// apply adds the client's credentials to a form to be POSTed to endpoint,
// or to h for client_secret_basic.
func (c *clientCreds) apply(form url.Values, h http.Header, endpoint string) error {
	switch c.method {
	case ClientSecretBasic:
		// RFC 6749 2.3.1: both parts form-urlencoded first.
		cred := url.QueryEscape(c.id) + ":" + url.QueryEscape(string(c.secret))
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cred)))
	case ClientSecretPost:
		form.Set("client_id", c.id)
		form.Set("client_secret", string(c.secret))
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

// httpClient returns base for the secret-based methods, which x/oauth2
// sends itself, and for private_key_jwt a copy of base whose transport adds
// a fresh client assertion to every form POST: x/oauth2 has no hook for
// assertions on refresh, and this way the code exchange and the refresh
// share one path.
func (c *clientCreds) httpClient(base *http.Client) *http.Client {
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
	creds *clientCreds
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
	if err := t.creds.apply(form, nil, u.String()); err != nil {
		return nil, err
	}
	enc := form.Encode()
	r2 := req.Clone(req.Context())
	r2.Body = io.NopCloser(strings.NewReader(enc))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(enc)), nil }
	r2.ContentLength = int64(len(enc))
	return t.base.RoundTrip(r2)
}
