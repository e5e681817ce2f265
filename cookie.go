package oktasso

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Cookie size limits. Browsers keep about 4096 bytes per cookie, name and
// attributes included, and servers commonly refuse request headers over
// 8 KB, so a session spans at most a few chunks of maxChunkBytes.
const (
	maxFlowBytes     = 3000 // a flow or logout value (see flowSealer.seal)
	maxChunkBytes    = 3800 // one chunk of a session cookie
	defaultMaxChunks = 2    // keeps the Cookie header under 8 KB
	maxMaxChunks     = 4
	maxStoredSession = 1 << 20 // a session kept in the Store
)

// errSessionTooLarge means a session does not fit the cookie budget.
var errSessionTooLarge = errors.New("oktasso: session too large for its cookies")

// cookies writes and reads oktasso's cookies. Every cookie is HttpOnly,
// SameSite=Lax, has no Domain, and when the base URL is https is Secure.
// Every cookie but one has Path=/ and, over https, the "__Host-" prefix.
// The exception is the sign-out cookie (hintName), which holds the raw ID
// token for id_token_hint: it goes only to the sign-out path, so it is not
// part of the Cookie header of every request, and over https its prefix is
// "__Secure-" (a "__Host-" cookie must have Path=/). Every value is sealed
// with AES-256-GCM: session values and the sign-out cookie's as
// sessioncodec.go describes (the latter bound to its session's ID), flow and
// logout values as flowSealer does, each kind with keys of its own.
type cookies struct {
	secure    bool
	prefix    string // "__Host-oktasso" or "oktasso"
	hintName  string // the sign-out cookie: "__Secure-oktasso-logout-hint" or "oktasso-logout-hint"
	hintPath  string // its Path: the base URL's path + LogoutPath
	maxChunks int
	session   *sessionSealer // session cookies, up to maxMaxChunks chunks
	stored    *sessionSealer // sessions kept in the Store (up to 1 MiB)
	flow      *flowSealer    // sign-in flow cookies
	logout    *flowSealer    // the sign-out cookie

	sessionAAD, storedAAD []byte
}

// flowTTL bounds a sign-in or sign-out round trip through the provider.
const flowTTL = 10 * time.Minute

// newCookies derives the keys from each secret (HKDF-SHA256): an AES-GCM
// key for sessions, one for flow cookies and one for the sign-out cookie.
// The first secret seals, all open. context (the issuer and client ID) goes
// into the key derivation, so cookies of another app or tenant sharing the
// same secrets never decode.
func newCookies(secure bool, secrets []Secret, context string) (*cookies, error) {
	if len(secrets) == 0 {
		k := make([]byte, 32)
		rand.Read(k)
		secrets = []Secret{Secret(k)}
	}
	c := &cookies{secure: secure, maxChunks: defaultMaxChunks, hintPath: LogoutPath}
	keys := func(info string) ([][]byte, error) {
		var out [][]byte
		for _, s := range secrets {
			k, err := hkdf.Key(sha256.New, []byte(s), nil, info+context, 32)
			if err != nil {
				return nil, err
			}
			out = append(out, k)
		}
		return out, nil
	}
	aeadKeys, err := keys("oktasso session aead v3 ")
	if err != nil {
		return nil, err
	}
	if c.session, err = newSessionSealer(aeadKeys, maxMaxChunks*maxChunkBytes); err != nil {
		return nil, err
	}
	if c.stored, err = newSessionSealer(aeadKeys, maxStoredSession); err != nil {
		return nil, err
	}
	for kind, fs := range map[string]**flowSealer{"flow": &c.flow, "logout": &c.logout} {
		k, err := keys("oktasso " + kind + " aead v1 ")
		if err != nil {
			return nil, err
		}
		ss, err := newSessionSealer(k, maxFlowBytes)
		if err != nil {
			return nil, err
		}
		*fs = &flowSealer{kind: kind, ss: ss}
	}
	c.session.splitIDToken = true
	c.storedAAD = sessionAAD(storeSealName)
	c.setPrefix("oktasso")
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

// setPrefix names the cookies after name (Config.CookieName, without the
// "__Host-" prefix, which it adds over https) and the session values'
// additional data, which binds them to that name.
func (c *cookies) setPrefix(name string) {
	c.prefix, c.hintName = name, name+"-logout-hint"
	if c.secure {
		c.prefix, c.hintName = "__Host-"+name, "__Secure-"+c.hintName
	}
	c.sessionAAD = sessionAAD(c.sessionName())
}

// writeSession seals s into the session cookie (chunked when needed, prev
// being the count the request carried) and, when s brings an ID token not
// yet in the browser (a sign-in, a refresh, or a value of the earlier
// two-part format being rewritten), that token into the sign-out cookie.
// A new session without one deletes any earlier sign-out cookie. The
// sign-out cookie must fit one cookie: errSessionTooLarge otherwise.
func (c *cookies) writeSession(w http.ResponseWriter, s *session, maxAge time.Duration, prev int) error {
	hint := s.idSealed
	if s.IDToken != "" {
		hint = c.session.sealIDToken(s.ID, s.IDToken)
	}
	if len(hint) > maxChunkBytes {
		return errSessionTooLarge
	}
	if err := c.writeChunks(w, c.session.seal(c.sessionName(), s), maxAge, prev); err != nil {
		return err
	}
	switch {
	case hint != "":
		c.setPath(w, c.hintName, c.hintPath, hint, maxAge)
	case prev == 0:
		c.clearHint(w)
	}
	return nil
}

// readHint returns the raw ID token the sign-out cookie of r holds for
// the session id, or "": absent, tampered, of another session or sealed
// with a key no longer listed.
func (c *cookies) readHint(r *http.Request, id string) string {
	v := cookieValue(r.Header, c.hintName)
	if v == "" || len(v) > maxChunkBytes || id == "" {
		return ""
	}
	tok, _ := c.session.openIDToken(id, v)
	return tok
}

// clearHint deletes the sign-out cookie.
func (c *cookies) clearHint(w http.ResponseWriter) {
	c.setPath(w, c.hintName, c.hintPath, "", -1)
}

// set writes a cookie for the whole site; maxAge < 0 deletes it, 0 makes
// it last for the browser session.
func (c *cookies) set(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c.setPath(w, name, "/", value, maxAge)
}

// setPath is set for the paths under path.
func (c *cookies) setPath(w http.ResponseWriter, name, path, value string, maxAge time.Duration) {
	ck := &http.Cookie{
		Name: name, Value: value, Path: path, HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode,
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

// Flow and logout values (format 1) are sealed as a session value's first
// part is (sessionSealer.sealBytes), around JSON:
//
//	value     = base64url(version | nonce | ciphertext | tag)
//	version   = flowWireFormat, 0x01
//	nonce     = 12 random bytes
//	AAD       = version | kind | 0x00 | the cookie's name
//	kind      = "flow" (a sign-in) or "logout" (a sign-out)
//	plaintext = expiry (8 bytes, big-endian Unix seconds) | JSON of the value
//
// Each kind has AES-256-GCM keys of its own (HKDF info "oktasso <kind> aead
// v1 " and the issuer and client, newCookies), apart from each other's and
// the session keys, so no value opens as another kind's, whatever its
// version byte says. The AAD binds a value to its cookie's name, and the
// expiry limits how long a copy is worth anything. A value whose first
// byte is another version does not open (a later format reads this one by
// its version byte).
const flowWireFormat = 1

var (
	errBadFlow      = errors.New("oktasso: not a valid sign-in or sign-out cookie value")
	errFlowTooLarge = errors.New("oktasso: sign-in or sign-out cookie value too large")
)

// flowSealer seals and opens one kind of short-lived cookie value: the
// first key seals, all open.
type flowSealer struct {
	kind string // "flow" or "logout"
	ss   *sessionSealer
}

// aad binds a value to its kind and the cookie called name.
func (fs *flowSealer) aad(name string) []byte {
	return append(append(append([]byte{flowWireFormat}, fs.kind...), 0), name...)
}

// seal seals v, as JSON, for the cookie called name, to open until expires.
// A value longer than maxFlowBytes is errFlowTooLarge: that holds a flow
// to about what fitted its cookie before format 1 (a return path of about
// 2 KB), as several may be pending and each goes with every request.
func (fs *flowSealer) seal(name string, v any, expires time.Time) (string, error) {
	buf := bytes.NewBuffer(binary.BigEndian.AppendUint64(make([]byte, 0, 256), uint64(expires.Unix())))
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	plain := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if base64.RawURLEncoding.EncodedLen(1+gcmNonceSize+len(plain)+gcmTagSize) > maxFlowBytes {
		return "", errFlowTooLarge
	}
	return fs.ss.sealBytes(flowWireFormat, plain, fs.aad(name)), nil
}

// open authenticates, decrypts and decodes a value sealed for the cookie
// called name into v. Any failure (empty, tampered, truncated, another
// name or kind, a key no longer listed, expired at now) is an error;
// callers treat it as "no value", never as a server error.
func (fs *flowSealer) open(name, value string, now time.Time, v any) error {
	if len(value) > maxFlowBytes {
		return errBadFlow
	}
	plain, ok := fs.ss.openBytes(flowWireFormat, value, fs.aad(name))
	if !ok || len(plain) < 8 || now.After(time.Unix(int64(binary.BigEndian.Uint64(plain)), 0)) {
		return errBadFlow
	}
	if err := json.Unmarshal(plain[8:], v); err != nil {
		return errors.Join(errBadFlow, err)
	}
	return nil
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

// clearChunks deletes the session cookie, its chunks and the sign-out
// cookie.
func (c *cookies) clearChunks(w http.ResponseWriter) {
	c.set(w, c.sessionName(), "", -1)
	for i := 1; i < c.maxChunks; i++ {
		c.set(w, c.chunkName(i), "", -1)
	}
	c.clearHint(w)
}

// cookieNameRE: letters, digits, "-" and "_", all allowed in a cookie
// name (an RFC 6265 token).
var cookieNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// checkCookieName validates Config.Session.CookieName. A name may not
// start with "__": the browser's "__Host-" and "__Secure-" prefixes are
// oktasso's to add. Nor may it be one that oktasso derives from another
// name (name+"-1" … for the chunks, name+"-logout", name+"-logout-hint",
// name+"-flow-…"), so that two Auths on one host with different names
// never read or delete each other's cookies: no "-"-separated part after
// the first is "flow", the last is not "logout" or a number, and the name
// does not end in "-logout-hint".
func (c *Config) checkCookieName(bad func(field, format string, args ...any)) {
	name := c.Session.CookieName
	if name == "" {
		return
	}
	if !cookieNameRE.MatchString(name) || strings.HasPrefix(name, "__") {
		bad("Session.CookieName", "%q is not a cookie name; use letters, digits, - and _ (at most 64, not starting with __)", name)
		return
	}
	parts := strings.Split(name, "-")
	last := parts[len(parts)-1]
	hint := len(parts) > 2 && parts[len(parts)-2] == "logout" && last == "hint"
	if len(parts) > 1 && (slices.Contains(parts[1:], "flow") || last == "logout" || hint || isDigits(last)) {
		bad("Session.CookieName", "%q has the form of a name oktasso derives from another (…-1, …-logout, …-logout-hint, …-flow-…), so it could be another Auth's cookie; choose another", name)
	}
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
