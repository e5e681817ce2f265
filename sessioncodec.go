package oktasso

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Session values (cookies and Store entries), format 4: one or two
// AES-256-GCM seals, each base64url without padding:
//
//	value    = base64url(version | nonce | ciphertext | tag) ["." idtoken]
//	version  = sessionWireFormat, 0x04 (the first byte of the decoded
//	           value; also in the additional data)
//	nonce    = 12 random bytes
//	AAD      = version | the cookie's name ("oktasso-store" in the Store)
//	           | 0x00 [| the text of idtoken]
//	plaintext = field*, field = tag (1 byte) | uvarint length | value
//	idtoken  = base64url(nonce | ciphertext | tag) of the raw ID token,
//	           AAD = version | 0x00 | "id_token" | the session's ID
//
// A session cookie leaves out what it can rebuild: the issuer, when it is
// the configured one (the keys are derived from it), a username equal to
// the email (a flag instead), and the access token's expiry when it keeps
// no token (sessionSealer.issuer, tokenExpiryField).
//
// A field's value is the string's bytes, a zigzag varint for numbers,
// nothing for a true bool (false and zero values are not written), or
// uvarint-length-prefixed strings for lists. Readers skip tags they do not
// know, so adding a field to session is two lines: the struct field and
// one line in sessionFields with a new tag. Tags are never reused.
//
// The ID token is most of a session's bytes and is read only at sign-out.
// A session cookie is the first part alone: the ID token, sealed as the
// idtoken part above, is the value of the sign-out cookie (cookies.hintName),
// which the browser sends only to the sign-out path. The sign-out cookie is
// bound to the session's ID, so it opens only with the session it was
// written with; one that does not open is an absent ID token, and the
// sign-out is then local only, as for a session without one. Store entries
// keep the second part ("." idtoken); the Store is read only for sessions
// kept there. A session cookie of two parts (written before the sign-out
// cookie existed) is still read, and sealed again at once: its ID token
// moves to the sign-out cookie.
//
// A value whose first byte is another version is not a session (a later
// format reads this one by its version byte; this one reads no other).
const (
	sessionWireFormat = 4
	gcmNonceSize      = 12
	gcmTagSize        = 16
)

var errBadSession = errors.New("oktasso: not a session value")

// strictBase64 refuses non-zero trailing bits, so one sealed value has one
// spelling (the cache matches values exactly).
var strictBase64 = base64.RawURLEncoding.Strict()

// sessionFields is the encoding of session (the plaintext of a value's
// first part), in writing order. To add a field: add it to session, then
// one line here with the next free tag. Tag 22 is retired (the ID token
// of an unreleased format, now sealed apart).
var sessionFields = [...]sessionField{
	strField(1, func(s *session) *string { return &s.ID }),
	intField(2, func(s *session) *int64 { return &s.Gen }),
	boolField(3, func(s *session) *bool { return &s.Ref }),
	strField(4, func(s *session) *string { return &s.Issuer }),
	strField(5, func(s *session) *string { return &s.Subject }),
	strField(6, func(s *session) *string { return &s.Email }),
	boolField(7, func(s *session) *bool { return &s.Verified }),
	strField(8, func(s *session) *string { return &s.Name }),
	strField(9, func(s *session) *string { return &s.Username }),
	listField(10, func(s *session) *[]string { return &s.Groups }),
	boolField(11, func(s *session) *bool { return &s.Internal }),
	strField(12, func(s *session) *string { return &s.LocalID }),
	strField(13, func(s *session) *string { return &s.SID }),
	intField(14, func(s *session) *int64 { return &s.AuthTime }),
	strField(15, func(s *session) *string { return &s.ACR }),
	listField(16, func(s *session) *[]string { return &s.AMR }),
	intField(17, func(s *session) *int64 { return &s.Checked }),
	boolField(18, func(s *session) *bool { return &s.APIGroups }),
	intField(19, func(s *session) *int64 { return &s.Created }),
	intField(20, func(s *session) *int64 { return &s.Seen }),
	intField(21, func(s *session) *int64 { return &s.Expires }),
	strField(23, func(s *session) *string { return &s.AccessToken }),
	strField(24, func(s *session) *string { return &s.RefreshToken }),
	tokenExpiryField(25),
	tokenLifeField(26),
	claimsField(27),
	boolField(28, func(s *session) *bool { return &s.UsernameIsEmail }),
}

// fieldByTag indexes sessionFields for the decoder.
var fieldByTag = func() (t [256]*sessionField) {
	for i := range sessionFields {
		f := &sessionFields[i]
		if t[f.tag] != nil {
			panic("oktasso: session field tag used twice")
		}
		t[f.tag] = f
	}
	return t
}()

// sessionField encodes one field of session: append writes it (nothing for
// a zero value), set reads its value and reports whether it was well formed.
type sessionField struct {
	tag    byte
	append func(b []byte, s *session) []byte
	set    func(s *session, v string) bool
}

func appendTLV(b []byte, tag byte, n int) []byte {
	return binary.AppendUvarint(append(b, tag), uint64(n))
}

func strField(tag byte, p func(*session) *string) sessionField {
	return sessionField{tag,
		func(b []byte, s *session) []byte {
			if v := *p(s); v != "" {
				b = append(appendTLV(b, tag, len(v)), v...)
			}
			return b
		},
		func(s *session, v string) bool { *p(s) = v; return true },
	}
}

func intField(tag byte, p func(*session) *int64) sessionField {
	return sessionField{tag,
		func(b []byte, s *session) []byte {
			if v := *p(s); v != 0 {
				var tmp [binary.MaxVarintLen64]byte
				n := binary.PutVarint(tmp[:], v)
				b = append(appendTLV(b, tag, n), tmp[:n]...)
			}
			return b
		},
		func(s *session, v string) bool {
			u, n := uvarint(v)
			if n <= 0 || n != len(v) {
				return false
			}
			x := int64(u >> 1)
			if u&1 != 0 {
				x = ^x
			}
			*p(s) = x
			return true
		},
	}
}

func boolField(tag byte, p func(*session) *bool) sessionField {
	return sessionField{tag,
		func(b []byte, s *session) []byte {
			if *p(s) {
				b = appendTLV(b, tag, 0)
			}
			return b
		},
		func(s *session, v string) bool { *p(s) = true; return v == "" },
	}
}

func listField(tag byte, p func(*session) *[]string) sessionField {
	return sessionField{tag,
		func(b []byte, s *session) []byte {
			l := *p(s)
			if len(l) == 0 {
				return b
			}
			n := 0
			for _, e := range l {
				n += uvarintLen(uint64(len(e))) + len(e)
			}
			b = appendTLV(b, tag, n)
			for _, e := range l {
				b = append(binary.AppendUvarint(b, uint64(len(e))), e...)
			}
			return b
		},
		func(s *session, v string) bool {
			count := 0
			for rest := v; rest != ""; count++ {
				l, n := uvarint(rest)
				if n <= 0 || l > uint64(len(rest)-n) {
					return false
				}
				rest = rest[n+int(l):]
			}
			out := make([]string, 0, count)
			for v != "" {
				l, n := uvarint(v)
				out = append(out, v[n:n+int(l)])
				v = v[n+int(l):]
			}
			*p(s) = out
			return true
		},
	}
}

// uvarint is binary.Uvarint over a string: the value and the bytes read,
// or n <= 0 for a truncated or overlong number.
func uvarint(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, -1
			}
			return x | uint64(c)<<shift, i + 1
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, 0
}

func uvarintLen(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}

// appendSession appends the plaintext of s: its fields, the ID token aside.
func appendSession(b []byte, s *session) []byte {
	for i := range sessionFields {
		b = sessionFields[i].append(b, s)
	}
	return b
}

// decodeSession parses a plaintext. Strings share one copy of p; the
// only other allocations are the session and its lists.
func decodeSession(p []byte) (*session, error) {
	s := &session{V: sessionModelVersion}
	rest := string(p)
	for rest != "" {
		tag := rest[0]
		l, n := uvarint(rest[1:])
		if n <= 0 || l > uint64(len(rest)-1-n) {
			return nil, errBadSession
		}
		v := rest[1+n : 1+n+int(l)]
		rest = rest[1+n+int(l):]
		if f := fieldByTag[tag]; f != nil && !f.set(s, v) {
			return nil, errBadSession
		}
	}
	return s, nil
}

// sessionSealer seals and opens session values with AES-256-GCM, one key
// per secret (the first seals, all open).
type sessionSealer struct {
	aeads []cipher.AEAD
	// splitIDToken (session cookies) seals no second part: the ID token
	// goes to the sign-out cookie (sealIDToken), and a two-part value is
	// one to seal again.
	splitIDToken bool
	// issuer, when set (session cookies), is left out of the values of
	// sessions of that issuer, and given back to values without one: the
	// keys are derived from it (newCookies), so no value of another issuer
	// opens anyway. A username equal to the email is written once too.
	issuer string
	maxLen int       // longest encoded value accepted
	bufs   sync.Pool // *[]byte scratch space for open
}

func newSessionSealer(keys [][]byte, maxLen int) (*sessionSealer, error) {
	ss := &sessionSealer{maxLen: maxLen}
	for _, k := range keys {
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		ss.aeads = append(ss.aeads, aead)
	}
	return ss, nil
}

// sessionAAD is the additional data that binds a value to its name: the
// prefix of the first part's AAD, which goes on with the text of the
// second part (see the format above). The 0x00 ends the name (names have
// no NUL), so no two (name, second part) pairs give the same AAD.
func sessionAAD(name string) []byte {
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		panic("oktasso: a session value's name must be non-empty and without NUL") // see idTokenAAD
	}
	return append(append([]byte{sessionWireFormat}, name...), 0)
}

// idTokenAAD binds the ID-token part of a value to the session's ID. The
// 0x00 right after the version sets it apart from every sessionAAD (names
// are not empty).
func idTokenAAD(id string) []byte {
	return append([]byte{sessionWireFormat, 0, 'i', 'd', '_', 't', 'o', 'k', 'e', 'n'}, id...)
}

// seal encrypts s for the cookie (or store entry) called name. An ID token
// already sealed (s.idSealed, from the value s was opened from) is written
// back as it was. With splitIDToken the value has no ID token at all.
func (ss *sessionSealer) seal(name string, s *session) string {
	cold := s.idSealed
	if s.IDToken != "" {
		cold = ss.sealIDToken(s.ID, s.IDToken)
	}
	if ss.splitIDToken {
		cold = ""
	}
	if ss.issuer != "" && (s.Issuer == ss.issuer || (s.Username != "" && s.Username == s.Email)) {
		short := *s
		if short.Issuer == ss.issuer {
			short.Issuer = ""
		}
		if short.Username != "" && short.Username == short.Email {
			short.Username, short.UsernameIsEmail = "", true
		}
		s = &short
	}
	plain := appendSession(make([]byte, 0, 256+len(s.AccessToken)+len(s.RefreshToken)), s)
	out := ss.sealBytes(sessionWireFormat, plain, append(sessionAAD(name), cold...))
	if cold == "" {
		return out
	}
	return out + "." + cold
}

// sealIDToken seals the raw ID token of the session id: the second part of
// a value, and the sign-out cookie's value.
func (ss *sessionSealer) sealIDToken(id, tok string) string {
	return ss.sealBytes(-1, []byte(tok), idTokenAAD(id))
}

// sealBytes seals plain under the newest key: base64url of [version] |
// nonce | ciphertext | tag, the version byte left out when version < 0.
func (ss *sessionSealer) sealBytes(version int, plain, aad []byte) string {
	out := make([]byte, 0, 1+gcmNonceSize+len(plain)+gcmTagSize)
	if version >= 0 {
		out = append(out, byte(version))
	}
	nonce := out[len(out) : len(out)+gcmNonceSize]
	rand.Read(nonce)
	out = ss.aeads[0].Seal(out[:len(out)+gcmNonceSize], nonce, plain, aad)
	return base64.RawURLEncoding.EncodeToString(out)
}

// open authenticates, decrypts and decodes a value sealed for aad (see
// sessionAAD) and reports whether the newest key sealed it. The whole
// value is authenticated: the first part's AAD covers the text of the
// second. With idToken false, the second part is not decrypted but kept in
// s.idSealed (see the format above), unless the value must be sealed again
// anyway (an older key): then it is opened too, so that the rewrite seals
// it with the newest key. Any failure, an unknown version byte included,
// is an error, which callers treat as "no session".
func (ss *sessionSealer) open(aad []byte, value string, idToken bool) (*session, bool, error) {
	hot, cold, twoParts, ok := ss.splitValue(value)
	if !ok {
		return nil, false, errBadSession
	}
	// Scratch space: the decoded first part, its plaintext, its AAD.
	n := base64.RawURLEncoding.DecodedLen(len(hot))
	size := 2*n + len(aad) + len(cold)
	bp := ss.scratch(size)
	defer ss.bufs.Put(bp)
	raw := (*bp)[:n]
	// The decoder skips \r and \n, so the decoded length can be shorter
	// than n, down to zero: index only what was decoded.
	m, err := strictBase64.Decode(raw, []byte(hot))
	if err != nil || m < 1+gcmNonceSize+gcmTagSize || raw[0] != sessionWireFormat {
		return nil, false, errBadSession
	}
	raw = raw[:m]
	aad = append(append((*bp)[2*n:2*n], aad...), cold...)
	nonce, ct := raw[1:1+gcmNonceSize], raw[1+gcmNonceSize:]
	for i, a := range ss.aeads {
		// Open into the second third: a failed Open clears its output,
		// and the ciphertext is needed for the next key.
		plain, err := a.Open((*bp)[n:n], nonce, ct, aad)
		if err != nil {
			continue
		}
		s, err := decodeSession(plain)
		if err != nil {
			return nil, false, err
		}
		ss.expandSession(s)
		newest := i == 0 && !(twoParts && ss.splitIDToken)
		if twoParts {
			ss.attachIDToken(s, cold, idToken || !newest)
		}
		return s, newest, nil
	}
	return nil, false, errBadSession
}

// splitValue bounds a session cookie's value (non-empty, at most
// ss.maxLen bytes) and cuts it at its first dot into the sealed session
// (hot) and the sealed ID token (cold, when twoParts); ok is false for a
// value out of bounds or a dot with nothing after it.
func (ss *sessionSealer) splitValue(value string) (hot, cold string, twoParts, ok bool) {
	if value == "" || len(value) > ss.maxLen {
		return "", "", false, false
	}
	hot, cold, twoParts = strings.Cut(value, ".")
	if twoParts && cold == "" {
		return "", "", false, false
	}
	return hot, cold, twoParts, true
}

// expandSession restores the fields seal leaves out of a session's
// encoding: the configured issuer when none was stored, and the username
// when it was stored as "the same as the email".
func (ss *sessionSealer) expandSession(s *session) {
	if s.Issuer == "" {
		s.Issuer = ss.issuer
	}
	if s.UsernameIsEmail {
		s.Username, s.UsernameIsEmail = s.Email, false
	}
}

// scratch returns a buffer from ss.bufs with room for size bytes; open
// puts it back.
func (ss *sessionSealer) scratch(size int) *[]byte {
	bp, _ := ss.bufs.Get().(*[]byte)
	if bp == nil || cap(*bp) < size {
		b := make([]byte, size)
		bp = &b
	}
	return bp
}

// attachIDToken gives s the ID-token part cold of its value: kept sealed
// in s.idSealed, or opened into s.IDToken when open is true.
func (ss *sessionSealer) attachIDToken(s *session, cold string, open bool) {
	s.idSealed = cold
	if open {
		s.IDToken, _ = ss.openIDToken(s.ID, cold)
		s.idSealed = ""
	}
}

// openIDToken opens the ID-token part of a value of the session id and
// returns the token, or "" and false if it does not open with any key.
func (ss *sessionSealer) openIDToken(id, cold string) (string, bool) {
	plain, ok := ss.openBytes(-1, cold, idTokenAAD(id))
	return string(plain), ok
}

// openBytes opens a value sealBytes sealed with the same version (< 0:
// none) and aad, with any key: the plaintext, or false if it does not open
// (malformed, another version, tampered, or a key no longer listed). The
// caller bounds the value's length.
func (ss *sessionSealer) openBytes(version int, value string, aad []byte) ([]byte, bool) {
	raw, err := strictBase64.DecodeString(value)
	if version >= 0 {
		if err != nil || len(raw) == 0 || raw[0] != byte(version) {
			return nil, false
		}
		raw = raw[1:]
	}
	if err != nil || len(raw) < gcmNonceSize+gcmTagSize {
		return nil, false
	}
	for _, aead := range ss.aeads {
		if plain, err := aead.Open(nil, raw[:gcmNonceSize], raw[gcmNonceSize:], aad); err == nil {
			return plain, true
		}
	}
	return nil, false
}

// tokenExpiryField is intField for TokenExpiry, written only with a token
// it is the expiry of (it decides refreshes and, with KeepAccessToken,
// the access token's life).
func tokenExpiryField(tag byte) sessionField {
	f := intField(tag, func(s *session) *int64 { return &s.TokenExpiry })
	write := f.append
	f.append = func(b []byte, s *session) []byte {
		if s.RefreshToken == "" && s.AccessToken == "" {
			return b
		}
		return write(b, s)
	}
	return f
}

// tokenLifeField is intField for TokenLife, written only with a refresh
// token (only a refresh reads it).
func tokenLifeField(tag byte) sessionField {
	f := intField(tag, func(s *session) *int64 { return &s.TokenLife })
	write := f.append
	f.append = func(b []byte, s *session) []byte {
		if s.RefreshToken == "" {
			return b
		}
		return write(b, s)
	}
	return f
}

// claimsField encodes the kept claims as a list: each claim's name, its
// number of values, then the values, names in sorted order.
func claimsField(tag byte) sessionField {
	return sessionField{tag,
		func(b []byte, s *session) []byte {
			if len(s.Claims) == 0 {
				return b
			}
			names := make([]string, 0, len(s.Claims))
			for k := range s.Claims {
				names = append(names, k)
			}
			slices.Sort(names)
			var flat []string
			for _, k := range names {
				flat = append(flat, k, strconv.Itoa(len(s.Claims[k])))
				flat = append(flat, s.Claims[k]...)
			}
			return listField(tag, func(*session) *[]string { return &flat }).append(b, s)
		},
		func(s *session, v string) bool {
			var flat []string
			if !listField(tag, func(*session) *[]string { return &flat }).set(s, v) {
				return false
			}
			m := map[string][]string{}
			for len(flat) >= 2 {
				n, err := strconv.Atoi(flat[1])
				if err != nil || n < 0 || n > len(flat)-2 {
					return false
				}
				m[flat[0]] = flat[2 : 2+n : 2+n]
				flat = flat[2+n:]
			}
			if len(flat) != 0 {
				return false
			}
			s.Claims = m
			return true
		},
	}
}
