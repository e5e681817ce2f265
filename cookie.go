package oktasso

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
)

// Cookie size limits. Browsers keep about 4096 bytes per cookie, name and
// attributes included, and servers commonly refuse request headers over
// 8 KB, so a session spans at most a few chunks of maxChunkBytes.
const (
	maxCookieBytes   = 4000 // a single-cookie value (flow and logout cookies)
	maxChunkBytes    = 3800 // one chunk of a session cookie
	defaultMaxChunks = 2    // keeps the Cookie header under 8 KB
	maxMaxChunks     = 4
	maxStoredSession = 1 << 20 // a session kept in the Store
)

// errSessionTooLarge means a session does not fit the cookie budget.
var errSessionTooLarge = errors.New("oktasso: session too large for its cookies")

// cookies writes and reads oktasso's cookies. Every cookie is HttpOnly,
// SameSite=Lax, Path=/, has no Domain, and when the base URL is https is
// Secure with the "__Host-" prefix. Session values are sealed with
// AES-256-GCM bound to the cookie's name (sessioncodec.go); flow and logout
// cookies are encrypted (AES-256-CTR) and authenticated (HMAC-SHA256) by
// securecookie around JSON, bound to the cookie's name.
type cookies struct {
	secure    bool
	prefix    string // "__Host-oktasso" or "oktasso"
	maxChunks int
	session   *sessionSealer // session cookies, up to maxMaxChunks chunks
	stored    *sessionSealer // sessions kept in the Store (up to 1 MiB)
	flow      []securecookie.Codec

	sessionAAD, storedAAD []byte
}

// flowTTL bounds a sign-in or sign-out round trip through the provider.
const flowTTL = 10 * time.Minute

// newCookies derives the keys from each secret (HKDF-SHA256): an AES-GCM
// key for sessions, a MAC and an encryption key for flow and logout
// cookies. The first secret seals, all open. context (the issuer and
// client ID) goes into the key derivation, so sessions of another app or
// tenant sharing the same secrets never decode.
func newCookies(secure bool, secrets []Secret, context string) (*cookies, error) {
	if len(secrets) == 0 {
		k := make([]byte, 32)
		rand.Read(k)
		secrets = []Secret{Secret(k)}
	}
	c := &cookies{secure: secure, prefix: "oktasso", maxChunks: defaultMaxChunks}
	if secure {
		c.prefix = "__Host-oktasso"
	}
	var aeadKeys [][]byte
	for _, s := range secrets {
		aeadKey, err := hkdf.Key(sha256.New, []byte(s), nil, "oktasso session aead v3 "+context, 32)
		if err != nil {
			return nil, err
		}
		aeadKeys = append(aeadKeys, aeadKey)
		mac, err := hkdf.Key(sha256.New, []byte(s), nil, "oktasso cookie mac v1 "+context, 32)
		if err != nil {
			return nil, err
		}
		enc, err := hkdf.Key(sha256.New, []byte(s), nil, "oktasso cookie enc v1 "+context, 32)
		if err != nil {
			return nil, err
		}
		c.flow = append(c.flow, securecookie.New(mac, enc).MaxAge(int(flowTTL/time.Second)).
			MaxLength(maxCookieBytes).SetSerializer(securecookie.NopEncoder{}))
	}
	var err error
	if c.session, err = newSessionSealer(aeadKeys, maxMaxChunks*maxChunkBytes); err != nil {
		return nil, err
	}
	if c.stored, err = newSessionSealer(aeadKeys, maxStoredSession); err != nil {
		return nil, err
	}
	c.sessionAAD, c.storedAAD = sessionAAD(c.sessionName()), sessionAAD(storeSealName)
	return c, nil
}

// sealSession seals s as the session cookie value, or as a Store entry
// when name is storeSealName.
func (c *cookies) sealSession(name string, s *session) string {
	if name == storeSealName {
		return c.stored.seal(name, s)
	}
	return c.session.seal(name, s)
}

// openSession opens a session cookie value (or a Store entry when name is
// storeSealName), its ID token included, and reports whether the newest key
// sealed it in the current format.
func (c *cookies) openSession(name, value string) (*session, bool, error) {
	return c.openSessionPart(name, value, true)
}

// openSessionHot is openSession for a request's session check: the ID
// token stays sealed (session.idSealed) unless the value is sealed again
// anyway; read it with idToken.
func (c *cookies) openSessionHot(name, value string) (*session, bool, error) {
	return c.openSessionPart(name, value, false)
}

func (c *cookies) openSessionPart(name, value string, idToken bool) (*session, bool, error) {
	switch name {
	case storeSealName:
		return c.stored.open(c.storedAAD, value, idToken)
	case c.sessionName():
		return c.session.open(c.sessionAAD, value, idToken)
	}
	return c.session.open(sessionAAD(name), value, idToken)
}

// idToken returns the session's raw ID token, opening it if it is still
// sealed; "" if it has none or it does not open. s is not modified.
func (c *cookies) idToken(s *session) string {
	if s.IDToken != "" || s.idSealed == "" {
		return s.IDToken
	}
	tok, _ := c.session.openIDToken(s.ID, s.idSealed)
	return tok
}

func (c *cookies) sessionName() string { return c.prefix }

// setPrefix names the cookies (Config.CookieName) and the session values'
// additional data, which binds them to that name.
func (c *cookies) setPrefix(p string) {
	c.prefix = p
	c.sessionAAD = sessionAAD(c.sessionName())
}

// set writes a cookie; maxAge < 0 deletes it, 0 makes it last for the
// browser session.
func (c *cookies) set(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	ck := &http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode,
	}
	switch {
	case maxAge < 0:
		ck.MaxAge = -1
		ck.Value = ""
	case maxAge > 0:
		ck.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, ck)
}

func (c *cookies) seal(codecs []securecookie.Codec, name string, v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return securecookie.EncodeMulti(name, bytes.TrimSuffix(buf.Bytes(), []byte("\n")), codecs...)
}

// open authenticates, decrypts and decodes a cookie value into v, and
// reports whether it was sealed with the newest key. Any failure (tampered,
// truncated, expired, foreign) is an error; callers treat it as "no value",
// never as a server error.
func (c *cookies) open(codecs []securecookie.Codec, name, value string, v any) (newest bool, err error) {
	if value == "" {
		return false, errors.New("no cookie")
	}
	var b []byte
	for i, codec := range codecs {
		if err = codec.Decode(name, value, &b); err == nil {
			return i == 0, json.Unmarshal(b, v)
		}
	}
	return false, err
}

// openValue is open for callers that do not care which key was used.
func (c *cookies) openValue(codecs []securecookie.Codec, name, value string, v any) error {
	_, err := c.open(codecs, name, value, v)
	return err
}

// chunkName names chunk i (≥ 1) of the session cookie.
func (c *cookies) chunkName(i int) string { return c.sessionName() + "-" + strconv.Itoa(i) }

// writeChunks writes a sealed session value as one cookie, or as n ≤
// maxChunks cookies: the first carries "~n" and the first chunk, the others
// are named "-1", "-2", …. Chunk cookies a previous, larger value left are
// deleted: those past prev (the count the request carried), or all of them
// when prev is 0 (a new session, whatever the browser still holds).
func (c *cookies) writeChunks(w http.ResponseWriter, value string, maxAge time.Duration, prev int) error {
	n := (len(value) + maxChunkBytes - 1) / maxChunkBytes
	if n > c.maxChunks {
		return errSessionTooLarge
	}
	if n <= 1 {
		c.set(w, c.sessionName(), value, maxAge)
	} else {
		c.set(w, c.sessionName(), "~"+strconv.Itoa(n)+value[:maxChunkBytes], maxAge)
		for i := 1; i < n; i++ {
			c.set(w, c.chunkName(i), value[i*maxChunkBytes:min((i+1)*maxChunkBytes, len(value))], maxAge)
		}
	}
	if prev == 0 {
		prev = c.maxChunks
	}
	for i := max(n, 1); i < prev; i++ {
		c.set(w, c.chunkName(i), "", -1)
	}
	return nil
}

// readChunks reassembles the session cookie and reports how many cookies
// it spanned (0: none). A chunk count over the cap, a missing or oversized
// chunk is refused before any decryption. A single-cookie session is read
// without allocating: the value is a slice of the Cookie header.
func (c *cookies) readChunks(r *http.Request) (string, int) {
	v := cookieValue(r.Header, c.sessionName())
	if v == "" {
		return "", 0
	}
	if v[0] != '~' {
		if len(v) > maxChunkBytes {
			return "", 0
		}
		return v, 1
	}
	if len(v) < 3 || v[1] < '2' || int(v[1]-'0') > c.maxChunks {
		return "", 0
	}
	n := int(v[1] - '0')
	if len(v)-2 != maxChunkBytes {
		return "", 0
	}
	var b strings.Builder
	b.Grow(n * maxChunkBytes)
	b.WriteString(v[2:])
	for i := 1; i < n; i++ {
		part := cookieValue(r.Header, c.chunkName(i))
		if part == "" || len(part) > maxChunkBytes || (i < n-1 && len(part) != maxChunkBytes) {
			return "", 0
		}
		b.WriteString(part)
	}
	return b.String(), n
}

// cookieValue returns the value of the first cookie called name in the
// Cookie headers h, or "", like http.Request.Cookie but without allocating
// (it returns a slice of the header). Unlike Request.Cookie it does not
// check the value's characters: the session decoder refuses anything that is
// not base64url, and the cache matches only values it stored.
func cookieValue(h http.Header, name string) string {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			if len(part) <= len(name) || part[len(name)] != '=' || part[:len(name)] != name {
				continue
			}
			v := part[len(name)+1:]
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v
		}
	}
	return ""
}

// clearChunks deletes the session cookie and its chunks.
func (c *cookies) clearChunks(w http.ResponseWriter) {
	c.set(w, c.sessionName(), "", -1)
	for i := 1; i < c.maxChunks; i++ {
		c.set(w, c.chunkName(i), "", -1)
	}
}

// cookieNameRE: no "-", which oktasso's own suffixes ("-1", "-flow-…",
// "-silent") use, so one app's or tenant's cookie names are never another's.
var cookieNameRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// checkCookieName validates Config.CookieName.
func (c *Config) checkCookieName(bad func(field, format string, args ...any)) {
	if c.Session.CookieName == "" {
		return
	}
	if !cookieNameRE.MatchString(c.Session.CookieName) || strings.HasPrefix(c.Session.CookieName, "__") {
		bad("Session.CookieName", "%q is not a cookie name; use letters, digits and _ (at most 64, not starting with __)", c.Session.CookieName)
	}
}
