package oktatest

import (
	"crypto/sha256"
	"net/http"
	"strings"
	"time"
)

// DPoP (RFC 9449) as Okta does it: the token endpoint demands a server
// nonce (400 use_dpop_nonce with a DPoP-Nonce header), binds the access
// token to the proof key (cnf.jkt, token_type "DPoP"), and the Management
// API then wants "Authorization: DPoP <token>" plus a proof with ath, whose
// htu must not carry the query string.

const (
	dpopMaxAge        = 60 * time.Second // accepted |iat - now|
	dpopNonceLifetime = 10 * time.Minute
)

// dpopState holds the nonces, the bound tokens and the seen proof ids.
// Guarded by s.mu.
type dpopState struct {
	nonces map[string]time.Time  // nonce → expiry
	bound  map[string]boundToken // access token → binding
	jtis   replayCache
}

// boundToken is the binding of a DPoP-bound access token.
type boundToken struct {
	jkt     string
	expires time.Time
}

// dpopProof is a verified DPoP proof.
type dpopProof struct {
	jkt, jti, nonce string
}

// verifyDPoPProof checks the request's DPoP proof: one DPoP header holding
// a JWS with typ "dpop+jwt", alg RS256 or ES256, a public jwk that verifies
// it, htm and htu (without query) matching the request, iat within a
// minute, an unseen jti and, when accessToken is set, ath. It returns the
// proof or the reason it is invalid. The jti is not recorded.
func (s *Server) verifyDPoPProof(r *http.Request, accessToken string) (dpopProof, string) {
	j, key, desc := parseDPoPProof(r.Header.Values("DPoP"))
	if desc != "" {
		return dpopProof{}, desc
	}
	now := s.now()
	s.mu.Lock()
	base := s.URL
	seen := s.api.dpop.jtis.seen(j.str("jti"), now)
	s.mu.Unlock()
	if desc := checkDPoPClaims(j, r.Method, base+r.URL.Path, now); desc != "" {
		return dpopProof{}, desc
	}
	if seen {
		return dpopProof{}, "The DPoP proof 'jti' has already been used."
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		if j.str("ath") != b64.EncodeToString(sum[:]) {
			return dpopProof{}, "The DPoP proof 'ath' does not match the access token."
		}
	}
	return dpopProof{jkt: jwkThumbprint(key.Key), jti: j.str("jti"), nonce: j.str("nonce")}, ""
}

// parseDPoPProof parses the DPoP header values: exactly one, a JWS of typ
// "dpop+jwt" signed by the public key in its jwk header. It returns the
// JWS and the key, or the reason the proof is invalid.
func parseDPoPProof(vals []string) (*jws, PublicKey, string) {
	if len(vals) == 0 {
		return nil, PublicKey{}, "The DPoP proof JWT header is missing."
	}
	if len(vals) > 1 {
		return nil, PublicKey{}, "Only one DPoP proof JWT header is allowed."
	}
	j, err := parseJWS(vals[0])
	if err != nil {
		return nil, PublicKey{}, "The DPoP proof is not a well-formed JWT."
	}
	if typ, _ := j.header["typ"].(string); typ != "dpop+jwt" {
		return nil, PublicKey{}, "The DPoP proof 'typ' header must be 'dpop+jwt'."
	}
	jwk, ok := j.header["jwk"].(map[string]any)
	if !ok {
		return nil, PublicKey{}, "The DPoP proof has no 'jwk' header."
	}
	if hasPrivateMembers(jwk) {
		return nil, PublicKey{}, "The DPoP proof 'jwk' header must not contain a private key."
	}
	key, err := parseJWK(jwk)
	if err != nil {
		return nil, PublicKey{}, "The DPoP proof 'jwk' header is not a usable RSA or P-256 key."
	}
	if !verifySignature(j.alg, key.Key, j.input, j.sig) {
		return nil, PublicKey{}, "The DPoP proof signature is invalid (alg must be RS256 or ES256)."
	}
	return j, key, ""
}

// checkDPoPClaims checks a DPoP proof's htm against method, its htu
// against reqURL (the request's, without query), its iat against now and
// that it has a jti. It returns the reason the proof is invalid, or "".
func checkDPoPClaims(j *jws, method, reqURL string, now time.Time) string {
	htu := j.str("htu")
	switch iat, ok := j.num("iat"); {
	case j.str("htm") != method:
		return "The DPoP proof 'htm' does not match the request method."
	case strings.ContainsAny(htu, "?#"):
		return "The DPoP proof 'htu' must not contain a query or fragment."
	case htu != reqURL:
		return "The DPoP proof 'htu' does not match the request URL."
	case !ok || now.Sub(time.Unix(iat, 0)).Abs() > dpopMaxAge:
		return "The DPoP proof 'iat' is missing or not within a minute of the server's time."
	case j.str("jti") == "":
		return "The DPoP proof has no 'jti'."
	}
	return ""
}

// hasPrivateMembers reports whether a JWK holds private key material.
func hasPrivateMembers(jwk map[string]any) bool {
	for _, k := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
		if _, ok := jwk[k]; ok {
			return true
		}
	}
	return false
}

// tokenDPoP handles DPoP at the token endpoint for a client_credentials
// request. It returns the thumbprint to bind the token to ("" for a Bearer
// token) or the error; for a missing or stale nonce it sets the DPoP-Nonce
// header on w.
func (s *Server) tokenDPoP(w http.ResponseWriter, r *http.Request, client *clientRec) (string, *oauthError) {
	if !client.dpopRequired() {
		return "", nil
	}
	proof, desc := s.verifyDPoPProof(r, "")
	if desc != "" {
		return "", &oauthError{http.StatusBadRequest, "invalid_dpop_proof", desc}
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	d := &s.api.dpop
	if exp, ok := d.nonces[proof.nonce]; proof.nonce == "" || !ok || now.After(exp) {
		w.Header().Set("DPoP-Nonce", s.dpopNonceLocked(now))
		return "", &oauthError{http.StatusBadRequest, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof."}
	}
	if d.jtis.seen(proof.jti, now) { // a concurrent request used it
		return "", &oauthError{http.StatusBadRequest, "invalid_dpop_proof", "The DPoP proof 'jti' has already been used."}
	}
	d.jtis.add(proof.jti, now.Add(2*dpopMaxAge), now)
	return proof.jkt, nil
}

// useDPoPJTI records the jti of a proof and reports whether it was unseen.
func (s *Server) useDPoPJTI(jti string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.api.dpop.jtis.seen(jti, now) {
		return false
	}
	s.api.dpop.jtis.add(jti, now.Add(2*dpopMaxAge), now)
	return true
}

// dpopNonceLocked returns a nonce valid for a while, minting a new one when
// the newest is past half its life. s.mu must be held.
func (s *Server) dpopNonceLocked(now time.Time) string {
	d := &s.api.dpop
	best, bestExp := "", time.Time{}
	for n, exp := range d.nonces {
		if now.After(exp) {
			delete(d.nonces, n)
		} else if exp.After(bestExp) {
			best, bestExp = n, exp
		}
	}
	if best == "" || bestExp.Sub(now) < dpopNonceLifetime/2 {
		best = randomToken()
		d.nonces[best] = now.Add(dpopNonceLifetime)
	}
	return best
}

// issueDPoPToken mints a client_credentials access token bound to jkt: the
// claims of a Bearer token plus cnf.jkt, and token_type "DPoP".
func (s *Server) issueDPoPToken(as *authServer, client *clientRec, scopes []string, jkt string) map[string]any {
	now := s.now()
	s.mu.Lock()
	u, key := s.URL, as.cur
	s.mu.Unlock()
	claims := accessTokenClaims(as, u, client.ID, scopes, now)
	claims["sub"] = client.ID
	claims["cnf"] = map[string]string{"jkt": jkt}
	token := signJWT(key, claims)
	expires := now.Add(tokenLifetime)
	s.mu.Lock()
	s.accessTokens[token] = &grant{as: as, clientID: client.ID, scopes: scopes, expires: expires}
	for t, b := range s.api.dpop.bound {
		if now.After(b.expires) {
			delete(s.api.dpop.bound, t)
		}
	}
	s.api.dpop.bound[token] = boundToken{jkt: jkt, expires: expires}
	s.mu.Unlock()
	return map[string]any{
		"token_type":   "DPoP",
		"expires_in":   int(tokenLifetime / time.Second),
		"access_token": token,
		"scope":        strings.Join(scopes, " "),
	}
}

// replayCache remembers single-use identifiers (jti) until they expire.
// Guarded by s.mu.
type replayCache struct {
	ids    map[string]time.Time
	purged time.Time
}

// seen reports whether id was added and has not expired.
func (c *replayCache) seen(id string, now time.Time) bool {
	exp, ok := c.ids[id]
	return ok && !now.After(exp)
}

// add remembers id until until, purging expired ids once a minute.
func (c *replayCache) add(id string, until, now time.Time) {
	if c.ids == nil {
		c.ids = map[string]time.Time{}
	}
	if now.Sub(c.purged) > time.Minute {
		for k, exp := range c.ids {
			if now.After(exp) {
				delete(c.ids, k)
			}
		}
		c.purged = now
	}
	c.ids[id] = until
}
