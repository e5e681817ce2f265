package oktasso

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fullSession has every field set, negative numbers included.
func fullSession() *session {
	return &session{
		V: sessionModelVersion, ID: "sid-1", Gen: 7, Ref: true, Issuer: "https://dev-1.okta.com", Subject: "00u1abcd",
		Email: "alice@example.com", Verified: true, Name: "Alice Ünïcode", Username: "alice", Groups: []string{"Everyone", "", "Engineering"},
		Internal: true, LocalID: "42", SID: "102okta", AuthTime: 1_799_999_940, ACR: "urn:okta:loa:2fa:any", AMR: []string{"pwd", "mfa"},
		Checked: -1, APIGroups: true, Claims: map[string][]string{"department": {"R&D"}, "roles": {"a", "", "b"}, "empty": {}},
		Created: 1_800_000_000, Seen: 1_800_000_060, Expires: 1_800_086_400,
		IDToken: "eyJ.id.token", AccessToken: "eyJ.access", RefreshToken: "rt-1", TokenExpiry: 1_800_003_600, TokenLife: 3600, UsernameIsEmail: true,
	}
}

func TestSessionEncodingRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		s    *session
	}{
		{"every field", fullSession()},
		{"zero values", &session{V: sessionModelVersion}},
		{"typical", testSession(time.Unix(1_800_000_000, 0))},
		{"large numbers", &session{V: sessionModelVersion, Created: 1<<62 + 5, Expires: -1 << 62}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeSession(appendSession(nil, tt.s))
			if err != nil {
				t.Fatalf("decodeSession(appendSession(s)) = %v", err)
			}
			want := *tt.s
			want.IDToken = "" // sealed apart, not a field
			if !reflect.DeepEqual(got, &want) {
				t.Errorf("decodeSession(appendSession(s)) = %+v; want %+v", got, &want)
			}
		})
	}
}

// TestSessionFieldsCoverStruct fails when a field is added to session but
// not to sessionFields: it would silently not be kept.
func TestSessionFieldsCoverStruct(t *testing.T) {
	// IDToken and idSealed: the value's second part, not a field.
	notEncoded := map[string]bool{"V": true, "chunks": true, "IDToken": true, "idSealed": true}
	full := fullSession()
	fv := reflect.ValueOf(full).Elem()
	for i := 0; i < fv.NumField(); i++ {
		name := fv.Type().Field(i).Name
		if notEncoded[name] {
			continue
		}
		if fv.Field(i).IsZero() {
			t.Errorf("fullSession leaves %s zero; set it so this test covers it", name)
			continue
		}
		clone := *full
		reflect.ValueOf(&clone).Elem().Field(i).SetZero()
		if bytes.Equal(appendSession(nil, &clone), appendSession(nil, full)) {
			t.Errorf("session.%s is not in sessionFields (add one line with a new tag)", name)
		}
	}
}

func TestSessionDecodeMalformed(t *testing.T) {
	good := appendSession(nil, testSession(time.Unix(1_800_000_000, 0)))
	tests := []struct {
		name  string
		plain []byte
		ok    bool
	}{
		{"unknown tag skipped", append([]byte{200, 3, 'x', 'y', 'z'}, good...), true},
		{"unknown tag at the end", append(append([]byte{}, good...), 201, 0), true},
		{"empty", nil, true},
		{"length past the end", []byte{5, 10, 'a'}, false},
		{"truncated length", []byte{5, 0x80}, false},
		{"overlong length", []byte{5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, false},
		{"bool with a value", []byte{3, 1, 1}, false},
		{"number with trailing bytes", []byte{19, 2, 2, 0}, false},
		{"empty number", []byte{19, 0}, false},
		{"list element past the end", []byte{10, 2, 5, 'a'}, false},
		{"tag without length", []byte{5}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := decodeSession(tt.plain)
			if (err == nil) != tt.ok {
				t.Fatalf("decodeSession(%x) = %v; want ok=%v", tt.plain, err, tt.ok)
			}
			if tt.ok && len(tt.plain) > 10 && s.Subject != "00u1abcd" {
				t.Errorf("decodeSession with an unknown tag lost the known fields: %+v", s)
			}
		})
	}
}

// relabelled seals s without its ID token as the session value called
// name, but with version as its first byte: authentic under c's key, with
// the additional data of the current format, so that only the version
// byte can refuse it.
func relabelled(c *cookies, name string, s *session, version byte) string {
	return c.session.sealBytes(int(version), appendSession(nil, s), sessionAAD(name))
}

// legacySeal seals s as a session cookie was sealed before the sign-out
// cookie: two parts, the ID token the second, whose text the first part's
// AAD covers (store entries are still sealed so).
func legacySeal(c *cookies, name string, s *session) string {
	cold := c.session.sealIDToken(s.ID, s.IDToken)
	return c.session.sealBytes(sessionWireFormat, appendSession(nil, s), append(sessionAAD(name), cold...)) + "." + cold
}

// TestSessionFormatVersion: the first byte of a sealed value is its format
// version, and a value of any other version is not a session, however
// authentic the rest of it.
func TestSessionFormatVersion(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(t, false, key1)
	s := testSession(now)
	for _, name := range []string{"oktasso", storeSealName} {
		hot, _, _ := strings.Cut(c.sealSession(name, s), ".")
		raw, err := base64.RawURLEncoding.DecodeString(hot)
		if err != nil || raw[0] != sessionWireFormat {
			t.Errorf("sealSession(%q) first byte = %#x, %v; want %#x", name, raw[0], err, sessionWireFormat)
		}
	}
	if got, newest, err := c.openSession("oktasso", relabelled(c, "oktasso", s, sessionWireFormat)); err != nil || !newest || got.Subject != s.Subject {
		t.Fatalf("openSession(current version) = %+v, %v, %v; want the session, newest", got, newest, err)
	}
	for _, version := range []byte{0, 2, 3, sessionWireFormat + 1, 0xff} {
		if got, _, err := c.openSession("oktasso", relabelled(c, "oktasso", s, version)); err == nil {
			t.Errorf("openSession(version %#x) = %+v; want refused", version, got)
		}
	}
}

// TestUnknownSessionFormat: a session cookie of another format version,
// otherwise valid, is no session: the browser is sent to sign in, an API
// client gets 401, never a 5xx.
func TestUnknownSessionFormat(t *testing.T) {
	h := newHarness(t, nil)
	_, ck, s := h.signedIn(t)
	if r := h.replay(t, "/workspace", ck.Name+"="+relabelled(h.auth.cookies, ck.Name, s, sessionWireFormat)); r.status != http.StatusOK {
		t.Fatalf("the session relabelled with the current version = %d; want 200", r.status)
	}
	for _, version := range []byte{3, sessionWireFormat + 1} {
		value := relabelled(h.auth.cookies, ck.Name, s, version)
		for _, tt := range []struct {
			name, accept string
			want         int
		}{{"browser", "text/html", http.StatusFound}, {"API", "application/json", http.StatusUnauthorized}} {
			req, _ := http.NewRequest("GET", h.app.URL+"/workspace", nil)
			req.Header.Set("Cookie", ck.Name+"="+value)
			req.Header.Set("Accept", tt.accept)
			if r := h.browser().do(req); r.status != tt.want {
				t.Errorf("version %#x session, %s = %d %.100q; want %d", version, tt.name, r.status, r.body, tt.want)
			}
		}
	}
}

func TestSessionValueBinding(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(t, false, key1)
	s := testSession(now)
	v := legacySeal(c, "oktasso", s)
	stored := c.sealSession(storeSealName, s)
	hot, cold, ok := strings.Cut(v, ".")
	if !ok {
		t.Fatalf("a two-part value sealed as one part: %q", v)
	}
	if one := c.sealSession("oktasso", s); strings.Contains(one, ".") {
		t.Errorf("a session cookie value has two parts: %q; want the ID token left out (it goes to the sign-out cookie)", one)
	}
	// Another value of the same session (its ID token sealed again), and
	// one of another session.
	_, coldAgain, _ := strings.Cut(legacySeal(c, "oktasso", s), ".")
	other := *s
	other.ID = "another-session"
	otherHot, otherCold, _ := strings.Cut(legacySeal(c, "oktasso", &other), ".")
	noToken := *s
	noToken.IDToken = ""
	bare := c.sealSession("oktasso", &noToken)
	// relabel rewrites the version byte of a first part.
	relabel := func(part string, version byte) string {
		raw, err := base64.RawURLEncoding.DecodeString(part)
		if err != nil {
			t.Fatal(err)
		}
		raw[0] = version
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	tests := []struct{ name, cookieName, value string }{
		{"store entry presented as a cookie", "oktasso", stored},
		{"cookie under another name", "oktasso-1", v},
		{"cookie presented as a store entry", storeSealName, v},
		{"relabelled 3", "oktasso", relabel(hot, 3) + "." + cold},
		{"relabelled 3, one part", "oktasso", relabel(bare, 3)},
		{"unknown version", "oktasso", relabel(hot, 9) + "." + cold},
		{"padded base64", "oktasso", v + "=="},
		{"padded first part", "oktasso", hot + "==." + cold},
		{"header only", "oktasso", v[:20]},
		{"over the length cap", "oktasso", strings.Repeat("A", maxMaxChunks*maxChunkBytes+1)},
		{"ID token part cut off", "oktasso", hot},
		{"ID token part empty", "oktasso", hot + "."},
		{"ID token part truncated", "oktasso", hot + "." + cold[:len(cold)-1]},
		{"a third part", "oktasso", v + "." + cold},
		{"ID token part of another value of the session", "oktasso", hot + "." + coldAgain},
		{"ID token part of another session", "oktasso", hot + "." + otherCold},
		{"first part of another session", "oktasso", otherHot + "." + cold},
		{"ID token part added to a value without one", "oktasso", bare + "." + cold},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _, err := c.openSession(tt.cookieName, tt.value); err == nil {
				t.Errorf("openSession(%q, …) = %+v; want refused", tt.cookieName, got)
			}
		})
	}
}

// FuzzSessionDecode feeds arbitrary plaintexts to the field decoder (past the
// AEAD, so the fuzzer reaches it): no panic, and whatever it accepts encodes
// back to a value that decodes the same.
func FuzzSessionDecode(f *testing.F) {
	f.Add(appendSession(nil, fullSession()))
	f.Add(appendSession(nil, testSession(time.Unix(1_800_000_000, 0))))
	f.Add([]byte{200, 3, 'x', 'y', 'z'})
	f.Add([]byte{10, 2, 5, 'a'})
	f.Fuzz(func(t *testing.T, plain []byte) {
		s, err := decodeSession(plain)
		if err != nil {
			return
		}
		again, err := decodeSession(appendSession(nil, s))
		if err != nil {
			t.Fatalf("re-encoded session does not decode: %v", err)
		}
		// Empty strings and lists are not written: compare what is kept.
		if !reflect.DeepEqual(appendSession(nil, again), appendSession(nil, s)) {
			t.Fatalf("decode(encode(s)) differs from s: %+v vs %+v", again, s)
		}
	})
}

// TestSessionIDTokenPart: in a Store entry (two parts), the session check
// leaves the ID token sealed and a rewrite carries it over unchanged;
// sign-out opens it; a key rotation opens it so that the rewrite seals it
// anew; a part that does not open is an absent ID token, not an error.
func TestSessionIDTokenPart(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(t, false, key1)
	s := testSession(now)
	token := s.IDToken
	v := c.sealSession(storeSealName, s)
	_, cold, _ := strings.Cut(v, ".")

	hot, newest, err := c.openSessionHot(storeSealName, v)
	if err != nil || !newest {
		t.Fatalf("openSessionHot = %v, newest %v; want the session, newest", err, newest)
	}
	if hot.IDToken != "" || hot.idSealed != cold || !hot.hasIDToken() {
		t.Fatalf("openSessionHot: IDToken %q, idSealed %.10q…; want the token left sealed as the value had it", hot.IDToken, hot.idSealed)
	}
	if got := c.idToken(hot); got != token || hot.idSealed != cold {
		t.Errorf("idToken = %q (idSealed kept: %v); want %q, s unchanged", got, hot.idSealed == cold, token)
	}
	rolled := *hot
	rolled.Seen++
	again := c.sealSession(storeSealName, &rolled)
	if _, got, _ := strings.Cut(again, "."); got != cold {
		t.Errorf("rewriting a checked session sealed its ID token again; want it carried over unchanged")
	}
	if full, _, err := c.openSession(storeSealName, again); err != nil || full.IDToken != token || full.idSealed != "" || full.Seen != s.Seen+1 {
		t.Errorf("openSession(rewritten) = %+v, %v; want the ID token and the new Seen", full, err)
	}

	// Rotation: the new key first. The value will be sealed again, so its
	// ID token is opened now and ends up under the new key.
	rotated := testCookies(t, false, key2, key1)
	old, newest, err := rotated.openSessionHot(storeSealName, v)
	if err != nil || newest || old.IDToken != token || old.idSealed != "" {
		t.Fatalf("openSessionHot after rotation = %+v, newest %v, %v; want the ID token opened, not newest", old, newest, err)
	}
	onlyNew := testCookies(t, false, key2)
	if full, _, err := onlyNew.openSession(storeSealName, rotated.sealSession(storeSealName, old)); err != nil || full.IDToken != token {
		t.Errorf("value rewritten after rotation, old key retired: %+v, %v; want the ID token", full, err)
	}

	// A second part that the first part's AAD covers but that does not
	// open (it takes the key to make one): no ID token, the session stands.
	junk := base64.RawURLEncoding.EncodeToString(make([]byte, gcmNonceSize+gcmTagSize+8))
	noToken := *s
	noToken.IDToken = ""
	forged := c.session.sealBytes(sessionWireFormat, appendSession(nil, &noToken), append(sessionAAD(storeSealName), junk...)) + "." + junk
	if full, _, err := c.openSession(storeSealName, forged); err != nil || full.IDToken != "" || full.hasIDToken() {
		t.Errorf("openSession(ID token part that does not open) = %+v, %v; want the session without an ID token", full, err)
	}
	if lazy, _, err := c.openSessionHot(storeSealName, forged); err != nil || c.idToken(lazy) != "" {
		t.Errorf("idToken(part that does not open) = %q, %v; want \"\"", c.idToken(lazy), err)
	}
}

// TestLegacySessionCookie: a session cookie of the two-part format (the ID
// token in the cookie) is still read; its ID token is opened and the value
// reported as one to seal again, and sealing it again moves the ID token
// to the sign-out cookie, which opens only for that session.
func TestLegacySessionCookie(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(t, false, key1)
	s := testSession(now)
	v := legacySeal(c, "oktasso", s)
	got, newest, err := c.openSessionHot("oktasso", v)
	if err != nil || newest || got.IDToken != s.IDToken || got.idSealed != "" {
		t.Fatalf("openSessionHot(two-part cookie) = %+v, newest %v, %v; want the ID token opened and newest false", got, newest, err)
	}
	rec := httptest.NewRecorder()
	if err := c.writeSession(rec, got, time.Hour, 1); err != nil {
		t.Fatal(err)
	}
	var session, hint *http.Cookie
	for _, ck := range rec.Result().Cookies() {
		switch ck.Name {
		case "oktasso":
			session = ck
		case c.hintName:
			hint = ck
		}
	}
	if session == nil || strings.Contains(session.Value, ".") || hint == nil || hint.Path != LogoutPath {
		t.Fatalf("rewritten cookies: session %v, sign-out %v; want a one-part session cookie and a sign-out cookie at %s", session, hint, LogoutPath)
	}
	req := httptest.NewRequest("POST", LogoutPath, nil)
	req.AddCookie(hint)
	if tok := c.readHint(req, s.ID); tok != s.IDToken {
		t.Errorf("readHint = %q; want the session's ID token", tok)
	}
	if tok := c.readHint(req, "another-session"); tok != "" {
		t.Errorf("readHint for another session = %q; want \"\"", tok)
	}
}

// TestCookieOmitsIssuer: a session cookie of the configured issuer leaves
// the issuer out (the keys are derived from it), writes a username equal
// to the email once and no token expiry without a token, and opens with
// all of them back; a store entry keeps them all.
func TestCookieOmitsIssuer(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(t, false, key1)
	c.session.issuer = "https://dev-1.okta.com"
	s := testSession(now)
	s.Issuer, s.Username, s.Email, s.TokenExpiry = c.session.issuer, "alice@example.com", "alice@example.com", now.Unix()+3600
	s.IDToken = ""
	full := appendSession(nil, s)
	v := c.sealSession("oktasso", s)
	raw, _ := base64.RawURLEncoding.DecodeString(v)
	saved := len(full) - (len(raw) - 1 - gcmNonceSize - gcmTagSize)
	if want := len(s.Issuer) + 2 + len(s.Username) + 2 + 2; saved < want-4 {
		t.Errorf("sealed plaintext is %d bytes shorter than the full encoding; want about %d (issuer, username, token expiry)", saved, want)
	}
	got, _, err := c.openSession("oktasso", v)
	if err != nil || got.Issuer != s.Issuer || got.Username != s.Email || got.UsernameIsEmail || got.TokenExpiry != 0 {
		t.Fatalf("openSession = %+v, %v; want the issuer and username back, no token expiry", got, err)
	}
	other := *s
	other.Issuer, other.Username = "https://other.okta.com", "alice"
	if got, _, err := c.openSession("oktasso", c.sealSession("oktasso", &other)); err != nil || got.Issuer != other.Issuer || got.Username != "alice" {
		t.Errorf("openSession(another issuer, another username) = %+v, %v; want both kept", got, err)
	}
	withToken := *s
	withToken.RefreshToken = "rt"
	if got, _, err := c.openSession("oktasso", c.sealSession("oktasso", &withToken)); err != nil || got.TokenExpiry != s.TokenExpiry {
		t.Errorf("openSession(with a refresh token) = %+v, %v; want its token expiry", got, err)
	}
	if got, _, err := c.openSession(storeSealName, c.sealSession(storeSealName, s)); err != nil || got.Issuer != s.Issuer || got.Username != s.Username {
		t.Errorf("store entry = %+v, %v; want the issuer and username", got, err)
	}
}
