package oktasso

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestCookieNameConfig(t *testing.T) {
	for _, tt := range []struct {
		name, cookieName, base, want, wantErr string
	}{
		{"default", "", "http://localhost:8080", "oktasso", ""},
		{"default https", "", "https://app.example", "__Host-oktasso", ""},
		{"own", "app_1", "http://localhost:8080", "app_1", ""},
		{"own https", "app_1", "https://app.example", "__Host-app_1", ""},
		{"prefix of its own", "__Secure-x", "https://app.example", "", "CookieName"},
		{"separator", "a;b", "https://app.example", "", "CookieName"},
		{"too long", strings.Repeat("c", 65), "https://app.example", "", "CookieName"},
		{"dash, the suffix separator", "foo-flow-x", "https://app.example", "", "CookieName"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(context.Background(), Config{Issuer: "https://dev-1.okta.com", ClientID: "0oa1", BaseURL: tt.base,
				CookieName: tt.cookieName, SessionKeys: []Secret{key1}, Logger: quietLogger(), HTTPClient: &http.Client{Transport: offline{}}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("New(CookieName %q) = %v; want an error naming %s", tt.cookieName, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := a.cookies.sessionName(); got != tt.want {
				t.Errorf("session cookie name = %q; want %q", got, tt.want)
			}
			if got := a.flowCookieName("s"); !strings.HasPrefix(got, tt.want+"-flow-") {
				t.Errorf("flow cookie name = %q; want the prefix %s-flow-", got, tt.want)
			}
		})
	}
}
