package oktasso

import (
	"bytes"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
)

// maxCookieBytes is the largest cookie value written or read; browsers keep
// about 4096 bytes per cookie including its name and attributes.
const maxCookieBytes = 4000

// session is the value kept, encrypted and authenticated, in the session
// cookie. Field names are short because every request carries them.
type session struct {
	V        int      `json:"v"`
	Issuer   string   `json:"is"`
	Subject  string   `json:"su"`
	Email    string   `json:"em,omitempty"`
	Verified bool     `json:"ev,omitempty"`
	Name     string   `json:"nm,omitempty"`
	Username string   `json:"un,omitempty"`
	Groups   []string `json:"gr,omitempty"`
	Internal bool     `json:"in,omitempty"`
	LocalID  string   `json:"li,omitempty"`
	SID      string   `json:"si,omitempty"`
	AuthTime int64    `json:"at,omitempty"`
	Created  int64    `json:"cr"` // sign-in time, unix seconds
	Seen     int64    `json:"se"` // last time the cookie was written: idle expiry counts from here
	Expires  int64    `json:"ex"` // absolute end, never extended
	IDToken  string   `json:"it,omitempty"`
}

const sessionVersion = 1

func (s *session) user() *User {
	u := &User{
		Issuer: s.Issuer, Subject: s.Subject, Email: s.Email, EmailVerified: s.Verified,
		Name: s.Name, Username: s.Username, Groups: s.Groups, Internal: s.Internal,
		LocalID: s.LocalID, SessionID: s.SID,
	}
	if s.AuthTime != 0 {
		u.AuthTime = time.Unix(s.AuthTime, 0)
	}
	return u
}

func sessionFor(u *User, idToken string, now time.Time, maxAge time.Duration) *session {
	s := &session{
		V: sessionVersion, Issuer: u.Issuer, Subject: u.Subject, Email: u.Email, Verified: u.EmailVerified,
		Name: u.Name, Username: u.Username, Groups: u.Groups, Internal: u.Internal, LocalID: u.LocalID,
		SID: u.SessionID, Created: now.Unix(), Seen: now.Unix(), Expires: now.Add(maxAge).Unix(), IDToken: idToken,
	}
	if !u.AuthTime.IsZero() {
		s.AuthTime = u.AuthTime.Unix()
	}
	return s
}

// valid reports whether the session is still alive at now.
func (s *session) valid(now time.Time, idle time.Duration) bool {
	n := now.Unix()
	return s.V == sessionVersion && s.Subject != "" && n < s.Expires && n < s.Seen+int64(idle/time.Second) && s.Created <= n+int64(clockSkew/time.Second)
}

// cookies writes and reads oktasso's cookies. Every cookie is HttpOnly,
// SameSite=Lax, Path=/, has no Domain, and when the base URL is https is
// Secure with the "__Host-" prefix. Values are encrypted (AES-256-CTR) and
// authenticated (HMAC-SHA256) by securecookie, bound to the cookie's name.
type cookies struct {
	secure  bool
	prefix  string // "__Host-oktasso" or "oktasso"
	session []securecookie.Codec
	flow    []securecookie.Codec
}

// flowTTL bounds a sign-in or sign-out round trip through the provider.
const flowTTL = 10 * time.Minute

// newCookies derives a MAC key and an encryption key from each secret
// (HKDF-SHA256); the first secret encrypts, all decrypt.
//
// context (the issuer and client ID) goes into the key derivation, so
// sessions of another app or tenant sharing the same secrets never decode.
func newCookies(secure bool, secrets []Secret, sessionMaxAge time.Duration, context string) (*cookies, error) {
	if len(secrets) == 0 {
		k := make([]byte, 32)
		rand.Read(k)
		secrets = []Secret{Secret(k)}
	}
	c := &cookies{secure: secure, prefix: "oktasso"}
	if secure {
		c.prefix = "__Host-oktasso"
	}
	for _, s := range secrets {
		mac, err := hkdf.Key(sha256.New, []byte(s), nil, "oktasso cookie mac v1 "+context, 32)
		if err != nil {
			return nil, err
		}
		enc, err := hkdf.Key(sha256.New, []byte(s), nil, "oktasso cookie enc v1 "+context, 32)
		if err != nil {
			return nil, err
		}
		for _, dst := range []struct {
			list   *[]securecookie.Codec
			maxAge time.Duration
		}{{&c.session, sessionMaxAge + time.Minute}, {&c.flow, flowTTL}} {
			sc := securecookie.New(mac, enc).MaxAge(int(dst.maxAge / time.Second)).MaxLength(maxCookieBytes).SetSerializer(securecookie.NopEncoder{})
			*dst.list = append(*dst.list, sc)
		}
	}
	return c, nil
}

func (c *cookies) sessionName() string { return c.prefix }

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

// open authenticates, decrypts and decodes a cookie value into v. Any
// failure (tampered, truncated, expired, foreign) is an error; callers treat
// it as "no value", never as a server error.
func (c *cookies) open(codecs []securecookie.Codec, name, value string, v any) error {
	if value == "" || len(value) > maxCookieBytes {
		return errors.New("no cookie")
	}
	var b []byte
	if err := securecookie.DecodeMulti(name, value, &b, codecs...); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// readSession returns the valid session carried by r, or nil.
func (c *cookies) readSession(r *http.Request, now time.Time, idle time.Duration) *session {
	ck, err := r.Cookie(c.sessionName())
	if err != nil {
		return nil
	}
	var s session
	if c.open(c.session, ck.Name, ck.Value, &s) != nil || !s.valid(now, idle) {
		return nil
	}
	return &s
}

// writeSession writes s as the session cookie. The cookie's own lifetime is
// the session's absolute end, so the browser drops it then too.
func (c *cookies) writeSession(w http.ResponseWriter, s *session, now time.Time) error {
	v, err := c.seal(c.session, c.sessionName(), s)
	if err != nil {
		return err
	}
	if len(c.sessionName())+len(v) > maxCookieBytes {
		return errors.New("oktasso: session cookie too large; request fewer claims (e.g. filter the groups claim)")
	}
	c.set(w, c.sessionName(), v, time.Unix(s.Expires, 0).Sub(now))
	return nil
}

func (c *cookies) clearSession(w http.ResponseWriter) { c.set(w, c.sessionName(), "", -1) }

// isOurs reports whether a cookie name belongs to oktasso.
func (c *cookies) isOurs(name string) bool { return strings.HasPrefix(name, c.prefix) }
