package oktasso

import (
	"bytes"
	"encoding/json"
	"net/http"
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
	notEncoded := map[string]bool{"V": true, "chunks": true}
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
		{"v3", c.sealSession("oktasso", want), "oktasso", true},
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

// TestLegacySessionResealed: a v2 cookie from before the upgrade keeps its
// user signed in, and its first request writes a v3 cookie.
func TestLegacySessionResealed(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	h.login(b, alice, "/")
	ck := h.sessionCookie(b)
	s, _, err := h.auth.cookies.openSession(ck.Name, ck.Value)
	if err != nil {
		t.Fatal(err)
	}
	old := legacyValue(t, h.auth.cookies, ck.Name, s, 0)
	r := h.replay(t, "/workspace", ck.Name+"="+old)
	if r.status != 200 || r.body != "user:"+alice {
		t.Fatalf("v2 cookie at /workspace = %d %q; want 200 for alice", r.status, r.body)
	}
	var resealed string
	for _, sc := range (&http.Response{Header: r.header}).Cookies() {
		if sc.Name == ck.Name {
			resealed = sc.Value
		}
	}
	if got, newest, err := h.auth.cookies.openSession(ck.Name, resealed); err != nil || !newest || got.ID != s.ID {
		t.Errorf("cookie written for a v2 session: newest=%v err=%v; want a v3 cookie of the same session", newest, err)
	}
}

func TestSessionValueBinding(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := testCookies(t, false, key1)
	s := testSession(now)
	v := c.sealSession("oktasso", s)
	stored := c.sealSession(storeSealName, s)
	tests := []struct{ name, cookieName, value string }{
		{"store entry presented as a cookie", "oktasso", stored},
		{"cookie under another name", "oktasso-1", v},
		{"cookie presented as a store entry", storeSealName, v},
		{"version byte changed", "oktasso", "B" + v[1:]},
		{"padded base64", "oktasso", v + "=="},
		{"header only", "oktasso", v[:20]},
		{"over the length cap", "oktasso", strings.Repeat("A", maxMaxChunks*maxChunkBytes+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _, err := c.openSession(tt.cookieName, tt.value); err == nil {
				t.Errorf("openSession(%q, …) = %+v; want refused", tt.cookieName, got)
			}
		})
	}
}

// FuzzSessionDecode feeds arbitrary plaintexts to the v3 decoder (past the
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
