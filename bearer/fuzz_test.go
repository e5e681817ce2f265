package bearer

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oktasso/oktasso"
)

// unreachable is an HTTP transport for a provider that never answers.
type unreachable struct{}

func (unreachable) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("unreachable")
}

// FuzzBearer feeds arbitrary Authorization headers to the bearer guard
// (header parsing, then token parsing and the issuer check, with the
// provider unreachable): it must never panic nor answer 200 or 500, and a
// token it extracts must be a token68.
func FuzzBearer(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	g, err := newGuard(Config{
		Issuer:     "https://dev-1.okta.com/oauth2/default",
		ClientIDs:  []string{"0oa1"},
		HTTPClient: &http.Client{Transport: unreachable{}},
		Now:        func() time.Time { return now },
		Logger:     quietLogger(),
	})
	if err != nil {
		f.Fatal(err)
	}
	h := g.Require("orders:read")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	f.Add("Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2Rldi0xLm9rdGEuY29tL29hdXRoMi9kZWZhdWx0In0.c2ln")
	f.Add("Bearer eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.")
	f.Add("bearer   abc==")
	f.Add("Bearer a=b")
	f.Add("Basic YTpi")
	f.Add("Bearer ")
	f.Fuzz(func(t *testing.T, header string) {
		tok, err := bearerToken(http.Header{"Authorization": {header}})
		if err == nil && tok != "" && (!isToken68(tok) || strings.ContainsAny(tok, " \t\r\n")) {
			t.Fatalf("bearerToken(%q) = %q; not a token68", header, tok)
		}
		if tok != "" {
			if at, err := g.Verify(context.Background(), tok); at != nil || err == nil {
				t.Fatalf("Verify(%q) = %+v, %v; accepted an unsigned token", tok, at, err)
			} else if !errors.Is(err, oktasso.ErrInvalidToken) && !errors.Is(err, oktasso.ErrProviderUnavailable) {
				t.Fatalf("Verify(%q) error = %v; want ErrInvalidToken or ErrProviderUnavailable", tok, err)
			}
		}
		req := httptest.NewRequest("GET", "/api", nil)
		req.Header["Authorization"] = []string{header}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusServiceUnavailable:
		default:
			t.Fatalf("header %q: status %d; want 400, 401 or 503", header, rec.Code)
		}
		if ch := rec.Header().Get("WWW-Authenticate"); rec.Code != http.StatusServiceUnavailable && !strings.HasPrefix(ch, `Bearer realm="api"`) {
			t.Fatalf("header %q: challenge %q", header, ch)
		}
	})
}
