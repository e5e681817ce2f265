package oktatest

import (
	"testing"
)

// BenchmarkLoginRoundTrip measures a whole sign-in through the fake:
// authorize (AutoLogin, no session: a new SSO session each time), the code
// exchange at the token endpoint and the ID token's verification
// (discovery and JWKS are fetched once, as a relying party caches them). It
// reports logins/s.
func BenchmarkLoginRoundTrip(b *testing.B) {
	s := newTestServer(b)
	s.AutoLogin("alice@example.com")
	f := newFlow(b, s, s.CustomIssuer("default"))
	browser := newBrowser(b, s)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		browser.Jar = nil // no SSO session: AutoLogin signs in each time
		tok := f.login(b, s, browser)
		if err := f.verify(rawIDToken(b, tok)); err != nil {
			b.Fatalf("verify = %v", err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}
