package oktatest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"
)

// PublicKey is a public key of a client, for private_key_jwt client
// authentication (RFC 7523).
type PublicKey struct {
	// KeyID is the key's "kid". An assertion whose header names a kid is
	// verified only with the keys of that id or of no id.
	KeyID string
	// Key is an *rsa.PublicKey of at least 2048 bits (RS256) or an
	// *ecdsa.PublicKey on P-256 (ES256). A private key (crypto.Signer) is
	// accepted for convenience and reduced to its public half.
	Key crypto.PublicKey
}

// clientAssertionType is the only client_assertion_type of private_key_jwt.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionMaxLifetime is how far in the future an assertion may expire.
const assertionMaxLifetime = time.Hour

// clientKeys validates a client's keys and those of its JWKS document.
func clientKeys(keys []PublicKey, jwks []byte) ([]PublicKey, error) {
	var out []PublicKey
	for _, k := range keys {
		if sg, ok := k.Key.(crypto.Signer); ok {
			k.Key = sg.Public()
		}
		if err := checkKey(k.Key); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	if len(jwks) > 0 {
		var doc struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(jwks, &doc); err != nil || doc.Keys == nil {
			return nil, errors.New("JWKS is not a JSON Web Key Set")
		}
		for _, m := range doc.Keys {
			if hasPrivateMembers(m) {
				return nil, errors.New("JWKS holds a private key")
			}
			k, err := parseJWK(m)
			if err != nil {
				return nil, err
			}
			out = append(out, k)
		}
	}
	return out, nil
}

// checkKey accepts RSA keys of 2048 bits or more and P-256 keys.
func checkKey(k crypto.PublicKey) error {
	switch k := k.(type) {
	case *rsa.PublicKey:
		if k.N == nil || k.N.BitLen() < 2048 {
			return errors.New("RSA public key shorter than 2048 bits")
		}
		return nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return errors.New("EC public key not on P-256")
		}
		return nil
	}
	return errors.New("public key is neither RSA nor ECDSA")
}

// parseJWK parses a public RSA or EC P-256 JSON Web Key.
func parseJWK(m map[string]any) (PublicKey, error) {
	str := func(name string) []byte {
		s, _ := m[name].(string)
		b, err := b64.DecodeString(s)
		if err != nil {
			return nil
		}
		return b
	}
	kid, _ := m["kid"].(string)
	switch m["kty"] {
	case "RSA":
		n, e := str("n"), str("e")
		if len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return PublicKey{}, errors.New("malformed RSA JWK")
		}
		key := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if err := checkKey(key); err != nil {
			return PublicKey{}, err
		}
		return PublicKey{KeyID: kid, Key: key}, nil
	case "EC":
		x, y := str("x"), str("y")
		if m["crv"] != "P-256" || len(x) != 32 || len(y) != 32 {
			return PublicKey{}, errors.New("malformed or non-P-256 EC JWK")
		}
		key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), slices.Concat([]byte{4}, x, y))
		if err != nil {
			return PublicKey{}, errors.New("EC JWK is not a point on P-256")
		}
		return PublicKey{KeyID: kid, Key: key}, nil
	}
	return PublicKey{}, errors.New("JWK kty must be RSA or EC")
}

// jwkThumbprint returns the RFC 7638 SHA-256 thumbprint of a key,
// base64url: the "jkt" of DPoP.
func jwkThumbprint(k crypto.PublicKey) string {
	var canon string
	switch k := k.(type) {
	case *rsa.PublicKey:
		e := big.NewInt(int64(k.E)).Bytes()
		canon = `{"e":"` + b64.EncodeToString(e) + `","kty":"RSA","n":"` + b64.EncodeToString(k.N.Bytes()) + `"}`
	case *ecdsa.PublicKey:
		b, err := k.Bytes()
		if err != nil {
			return ""
		}
		canon = `{"crv":"P-256","kty":"EC","x":"` + b64.EncodeToString(b[1:33]) + `","y":"` + b64.EncodeToString(b[33:65]) + `"}`
	}
	sum := sha256.Sum256([]byte(canon))
	return b64.EncodeToString(sum[:])
}

// jws is a parsed, not yet verified, compact JWS with a JSON payload.
type jws struct {
	header, claims map[string]any
	alg, kid       string
	input          string // signing input
	sig            []byte
}

// parseJWS splits and decodes a compact JWS; numbers decode as json.Number.
func parseJWS(token string) (*jws, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errBadJWT
	}
	j := &jws{input: parts[0] + "." + parts[1]}
	var err error
	if j.sig, err = b64.DecodeString(parts[2]); err != nil {
		return nil, errBadJWT
	}
	for i, dst := range []*map[string]any{&j.header, &j.claims} {
		b, err := b64.DecodeString(parts[i])
		if err != nil {
			return nil, errBadJWT
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		if dec.Decode(dst) != nil || *dst == nil {
			return nil, errBadJWT
		}
	}
	j.alg, _ = j.header["alg"].(string)
	j.kid, _ = j.header["kid"].(string)
	return j, nil
}

// str returns a string claim, or "".
func (j *jws) str(name string) string {
	s, _ := j.claims[name].(string)
	return s
}

// num returns a numeric claim in whole seconds.
func (j *jws) num(name string) (int64, bool) {
	n, ok := j.claims[name].(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return int64(f), err == nil
}

// verifySignature checks an RS256 or ES256 signature; any other alg, or a
// key of the wrong type for alg, fails.
func verifySignature(alg string, key crypto.PublicKey, input string, sig []byte) bool {
	sum := sha256.Sum256([]byte(input))
	switch k := key.(type) {
	case *rsa.PublicKey:
		return alg == "RS256" && rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) == nil
	case *ecdsa.PublicKey:
		if alg != "ES256" || len(sig) != 64 {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(k, sum[:], r, s)
	}
	return false
}

// authenticateAssertion authenticates a client by a private_key_jwt
// client_assertion (RFC 7523), as Okta checks it: alg RS256 or ES256, a
// signature by one of the client's keys, iss = sub = client_id, aud = the
// URL of the endpoint called, exp at most an hour ahead, iat, and a jti not
// seen before.
func (s *Server) authenticateAssertion(r *http.Request) (*clientRec, *oauthError) {
	form := r.PostForm
	if form.Get("client_assertion_type") != clientAssertionType {
		return nil, invalidClient("The client_assertion_type must be " + clientAssertionType + ".")
	}
	j, err := parseJWS(form.Get("client_assertion"))
	if err != nil {
		return nil, invalidClient("The client_assertion is not a well-formed JWT.")
	}
	iss := j.str("iss")
	if fid := form.Get("client_id"); fid != "" && fid != iss {
		return nil, invalidClient("The 'client_id' parameter does not match the client_assertion issuer.")
	}
	now := s.now()
	s.mu.Lock()
	c := s.clients[iss]
	base := s.URL
	s.mu.Unlock()
	if e := checkAssertionSigner(c, j); e != nil {
		return nil, e
	}
	if e := checkAssertionClaims(j, base+r.URL.Path, now); e != nil {
		return nil, e
	}
	if e := s.spendAssertion(j, now); e != nil {
		return nil, e
	}
	return c, nil
}

// checkAssertionSigner checks that c, the client named by the assertion's
// iss (nil if none is), uses private_key_jwt and signed j with one of its
// keys.
func checkAssertionSigner(c *clientRec, j *jws) *oauthError {
	switch {
	case c == nil:
		return invalidClient("The client_assertion 'iss' is not a registered client.")
	case c.AuthMethod != "private_key_jwt":
		return invalidClient("Client authentication failed: the client is registered for " + c.AuthMethod + ", the request used private_key_jwt.")
	case j.alg != "RS256" && j.alg != "ES256":
		return invalidClient("The client_assertion signature algorithm must be RS256 or ES256.")
	case !j.signedByOneOf(c.keys):
		return invalidClient("The client_assertion signature is invalid.")
	}
	return nil
}

// signedByOneOf reports whether one of keys, of j's kid or of no id,
// verifies j's signature.
func (j *jws) signedByOneOf(keys []PublicKey) bool {
	for _, k := range keys {
		if (j.kid == "" || k.KeyID == "" || k.KeyID == j.kid) && verifySignature(j.alg, k.Key, j.input, j.sig) {
			return true
		}
	}
	return false
}

// checkAssertionClaims checks a client assertion's claims other than iss:
// sub = iss, aud, exp (at most an hour ahead), iat, nbf and jti.
func checkAssertionClaims(j *jws, aud string, now time.Time) *oauthError {
	exp, hasExp := j.num("exp")
	iat, hasIat := j.num("iat")
	nbf, hasNbf := j.num("nbf")
	switch {
	case j.str("sub") != j.str("iss"):
		return invalidClient("The client_assertion 'sub' must equal its 'iss', the client_id.")
	case !audienceIs(j.claims["aud"], aud):
		return invalidClient("The client_assertion 'aud' must be " + aud + ".")
	case !hasExp || !now.Before(time.Unix(exp, 0)):
		return invalidClient("The client_assertion is expired or has no 'exp'.")
	case time.Unix(exp, 0).Sub(now) > assertionMaxLifetime:
		return invalidClient("The client_assertion 'exp' is more than one hour in the future.")
	case !hasIat || time.Unix(iat, 0).Sub(now) > dpopMaxAge:
		return invalidClient("The client_assertion 'iat' is missing or in the future.")
	case hasNbf && time.Unix(nbf, 0).Sub(now) > dpopMaxAge:
		return invalidClient("The client_assertion is not valid yet ('nbf').")
	case j.str("jti") == "":
		return invalidClient("The client_assertion has no 'jti'.")
	}
	return nil
}

// spendAssertion records the checked assertion j's jti, for its issuer,
// until it expires, and fails if it was used before.
func (s *Server) spendAssertion(j *jws, now time.Time) *oauthError {
	exp, _ := j.num("exp")
	s.mu.Lock()
	defer s.mu.Unlock()
	key := j.str("iss") + "\x00" + j.str("jti")
	if s.api.assertions.seen(key, now) {
		return invalidClient("The client_assertion 'jti' has already been used.")
	}
	s.api.assertions.add(key, time.Unix(exp, 0), now)
	return nil
}

// audienceIs reports whether an aud claim (string or array) is, or holds,
// want.
func audienceIs(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		return slices.Contains(a, any(want))
	}
	return false
}
