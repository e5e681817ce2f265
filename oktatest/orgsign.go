package oktatest

// SignOrgToken signs t with the org authorization server's current key
// (RS256 unless [Server.SetSigningAlg] changed it), or as t.Sign says, and
// returns the compact JWT: the key Okta signs Universal Logout requests
// with, for tests of a receiver. An empty "alg" or "kid" header is set to
// the key's; every other header and claim is t's.
func (s *Server) SignOrgToken(t Token) string {
	s.mu.Lock()
	cur, alg := s.org.cur, s.org.alg
	s.mu.Unlock()
	rogue := s.rogueKey(alg)
	if t.Header == nil {
		t.Header = map[string]any{}
	}
	if t.Header["alg"] == nil {
		t.Header["alg"] = cur.alg()
	}
	if t.Header["kid"] == nil {
		t.Header["kid"] = cur.kid
	}
	return signToken(&t, cur, rogue)
}
