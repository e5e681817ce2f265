package oktasso

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
)

// fullSession has every encoded field set, negative numbers included.
func fullSession() *session {
	return &session{
		V: sessionVersion, ID: "sid-1", Gen: 7, Ref: true, Issuer: "https://dev-1.okta.com", Subject: "00u1abcd",
		Email: "alice@example.com", Verified: true, Name: "Alice Ünïcode", Username: "alice", Groups: []string{"Everyone", "", "Engineering"},
		Internal: true, LocalID: "42", SID: "102okta", AuthTime: 1_799_999_940, ACR: "urn:okta:loa:2fa:any", AMR: []string{"pwd", "mfa"},
		Checked: -1, APIGroups: true, Pinned: true, Claims: map[string][]string{"department": {"R&D"}, "roles": {"a", "", "b"}, "empty": {}},
		Created: 1_800_000_000, Seen: 1_800_000_060, Expires: 1_800_086_400,
		IDToken: "eyJ.id.token", AccessToken: "eyJ.access", RefreshToken: "rt-1", TokenExpiry: 1_800_003_600,
	}
}

func TestSessionEncodingRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		s    *session
	}{
		{"every field", fullSession()},
		{"zero values", &session{V: sessionVersion}},
		{"typical", testSession(time.Unix(1_800_000_000, 0))},
		{"large numbers", &session{V: sessionVersion, Created: 1<<62 + 5, Expires: -1 << 62}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeSession(appendSession(nil, tt.s))
			if err != nil {
				t.Fatalf("decodeSession(appendSession(s)) = %v", err)
			}
			if !reflect.DeepEqual(got, tt.s) {
				t.Errorf("decodeSession(appendSession(s)) = %+v; want %+v", got, tt.s)
			}
		})
	}
}

// TestSessionFieldsCoverStruct fails when a field is added to session but
// not to sessionFields: it would silently not be kept.
func TestSessionFieldsCoverStruct(t *testing.T) {
	notEncoded := map[string]bool{"V": true, "chunks": true, "idSealed": true} // idSealed: a part of the value, not a field
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

// legacyValue seals s the way v2 did: securecookie around JSON.
func legacyValue(t testing.TB, c *cookies, name string, s *session, maxLen int) string {
	t.Helper()
	v2 := *s
	v2.V = legacySessionVersion
	b, err := json.Marshal(&v2)
	if err != nil {
		t.Fatal(err)
	}
	codecs := c.session.legacy
	if name == storeSealName {
		codecs = c.stored.legacy
	}
	v, err := securecookie.EncodeMulti(name, b, codecs[0])
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSessionFormatTransition(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(t, false, key1)
	want := testSession(now)
	tests := []struct {
		name       string
		value      string
		cookieName string
		newest     bool
	}{
		{"v4", c.sealSession("oktasso", want), "oktasso", true},
		{"v3", v3Value(c, "oktasso", want), "oktasso", false},
		{"v2 cookie", legacyValue(t, c, "oktasso", want, 0), "oktasso", false},
		{"v2 store entry", legacyValue(t, c, storeSealName, want, 0), storeSealName, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, newest, err := c.openSession(tt.cookieName, tt.value)
			if err != nil {
				t.Fatalf("openSession = %v; want the session", err)
			}
			if newest != tt.newest {
				t.Errorf("openSession newest = %v; want %v (v2 values are sealed again)", newest, tt.newest)
			}
			if got.V != sessionVersion || got.Subject != want.Subject || got.IDToken != want.IDToken || !reflect.DeepEqual(got.Groups, want.Groups) {
				t.Errorf("openSession = %+v; want %+v", got, want)
			}
		})
	}
}

// TestLegacySessionResealed: a v2 or v3 cookie from before the upgrade
// keeps its user signed in, and its first request writes a v4 cookie of the
// same session, ID token included.
func TestLegacySessionResealed(t *testing.T) {
	h := newHarness(t, nil)
	_, ck, s := h.signedIn(t)
	for _, tt := range []struct{ format, value string }{
		{"v2", legacyValue(t, h.auth.cookies, ck.Name, s, 0)},
		{"v3", v3Value(h.auth.cookies, ck.Name, s)},
	} {
		r := h.replay(t, "/workspace", ck.Name+"="+tt.value)
		if r.status != 200 || r.body != "user:"+alice {
			t.Fatalf("%s cookie at /workspace = %d %q; want 200 for alice", tt.format, r.status, r.body)
		}
		var resealed string
		for _, sc := range (&http.Response{Header: r.header}).Cookies() {
			if sc.Name == ck.Name {
				resealed = sc.Value
			}
		}
		got, newest, err := h.auth.cookies.openSession(ck.Name, resealed)
		if err != nil || !newest || got.ID != s.ID || got.IDToken != s.IDToken || !strings.Contains(resealed, ".") {
			t.Errorf("cookie written for a %s session: newest=%v err=%v; want a two-part v4 cookie of the same session with its ID token", tt.format, newest, err)
		}
	}
}

func TestSessionValueBinding(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(t, false, key1)
	s := testSession(now)
	v := c.sealSession("oktasso", s)
	stored := c.sealSession(storeSealName, s)
	hot, cold, ok := strings.Cut(v, ".")
	if !ok {
		t.Fatalf("a session with an ID token sealed as one part: %q", v)
	}
	// Another value of the same session (its ID token sealed again), and
	// one of another session.
	_, coldAgain, _ := strings.Cut(c.sealSession("oktasso", s), ".")
	other := *s
	other.ID = "another-session"
	otherHot, otherCold, _ := strings.Cut(c.sealSession("oktasso", &other), ".")
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
		{"relabelled v3", "oktasso", relabel(hot, sessionFormatV3) + "." + cold},
		{"relabelled v3, one part", "oktasso", relabel(bare, sessionFormatV3)},
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

// v3Value seals s the way v3 did: one seal, the ID token among the fields.
func v3Value(c *cookies, name string, s *session) string {
	return c.session.sealBytes(sessionFormatV3, appendSession(nil, s), append([]byte{sessionFormatV3}, name...))
}

// TestSessionIDTokenPart: the session check leaves the ID token sealed and
// a rewrite carries it over unchanged; sign-out opens it; a key rotation
// or an older format opens it so that the rewrite seals it anew; a part
// that does not open is an absent ID token, not an error.
func TestSessionIDTokenPart(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(t, false, key1)
	s := testSession(now)
	token := s.IDToken
	v := c.sealSession("oktasso", s)
	_, cold, _ := strings.Cut(v, ".")

	hot, newest, err := c.openSessionHot("oktasso", v)
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
	again := c.sealSession("oktasso", &rolled)
	if _, got, _ := strings.Cut(again, "."); got != cold {
		t.Errorf("rewriting a checked session sealed its ID token again; want it carried over unchanged")
	}
	if full, _, err := c.openSession("oktasso", again); err != nil || full.IDToken != token || full.idSealed != "" || full.Seen != s.Seen+1 {
		t.Errorf("openSession(rewritten) = %+v, %v; want the ID token and the new Seen", full, err)
	}

	// Rotation: the new key first. The value will be sealed again, so its
	// ID token is opened now and ends up under the new key.
	rotated := testCookies(t, false, key2, key1)
	old, newest, err := rotated.openSessionHot("oktasso", v)
	if err != nil || newest || old.IDToken != token || old.idSealed != "" {
		t.Fatalf("openSessionHot after rotation = %+v, newest %v, %v; want the ID token opened, not newest", old, newest, err)
	}
	onlyNew := testCookies(t, false, key2)
	if full, _, err := onlyNew.openSession("oktasso", rotated.sealSession("oktasso", old)); err != nil || full.IDToken != token {
		t.Errorf("value rewritten after rotation, old key retired: %+v, %v; want the ID token", full, err)
	}

	// v3 values are read whole and sealed again.
	legacy, newest, err := c.openSessionHot("oktasso", v3Value(c, "oktasso", s))
	if err != nil || newest || legacy.IDToken != token {
		t.Errorf("openSessionHot(v3) = %+v, newest %v, %v; want the session with its ID token, not newest", legacy, newest, err)
	}

	// A second part that the first part's AAD covers but that does not
	// open (it takes the key to make one): no ID token, the session stands.
	junk := base64.RawURLEncoding.EncodeToString(make([]byte, gcmNonceSize+gcmTagSize+8))
	noToken := *s
	noToken.IDToken = ""
	forged := c.session.sealBytes(sessionFormat, appendSession(nil, &noToken), append(sessionAAD("oktasso"), junk...)) + "." + junk
	if full, _, err := c.openSession("oktasso", forged); err != nil || full.IDToken != "" || full.hasIDToken() {
		t.Errorf("openSession(ID token part that does not open) = %+v, %v; want the session without an ID token", full, err)
	}
	if lazy, _, err := c.openSessionHot("oktasso", forged); err != nil || c.idToken(lazy) != "" {
		t.Errorf("idToken(part that does not open) = %q, %v; want \"\"", c.idToken(lazy), err)
	}
}

// TestV3NearTheCapRollsForward: a v3 value that fit its cookies but grows
// past them as v4 (the ID token's own nonce and tag) is shrunk like an
// oversized session at sign-in, so the user stays signed in while active.
func TestV3NearTheCapRollsForward(t *testing.T) {
	h := newHarness(t, nil)
	b, ck, s := h.signedIn(t)
	limit := h.auth.cookies.maxChunks * maxChunkBytes
	var v3 string
	for k := 0; ; k++ {
		s.Name = strings.Repeat("x", k)
		v3 = v3Value(h.auth.cookies, ck.Name, s)
		if len(v3) > limit {
			t.Fatal("no v3 value fits while its v4 form does not")
		}
		if len(h.auth.cookies.sealSession(ck.Name, s)) > limit {
			break
		}
	}
	rec := httptest.NewRecorder()
	if err := h.auth.cookies.writeChunks(rec, v3, time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	b.client.Jar.SetCookies(mustURL(t, h.app.URL), rec.Result().Cookies())
	for i := 0; i < 12; i++ { // 1.2 idle timeouts
		h.clock.Add(h.auth.cfg.Session.IdleTimeout / 10)
		if r := b.get(h.app.URL + "/workspace"); r.status != http.StatusOK {
			t.Fatalf("request %d, %v in: %d; want 200 (the session rolled forward)", i, time.Duration(i+1)*h.auth.cfg.Session.IdleTimeout/10, r.status)
		}
	}
	req := httptest.NewRequest("GET", h.app.URL+"/", nil)
	for _, c := range b.client.Jar.Cookies(mustURL(t, h.app.URL)) {
		req.AddCookie(c)
	}
	v, _ := h.auth.cookies.readChunks(req)
	got, newest, err := h.auth.cookies.openSession(ck.Name, v)
	if err != nil || !newest || got.hasIDToken() || got.Name != s.Name {
		t.Errorf("rolled session: newest %v, ID token kept %v, err %v; want a v4 value without its ID token", newest, got != nil && got.hasIDToken(), err)
	}
}
