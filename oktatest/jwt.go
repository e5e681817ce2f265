package oktatest

import (
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
)

// Token is an ID token or a back-channel logout token about to be signed,
// handed to the function given to [Server.MutateIDToken] or
// [Server.MutateLogoutToken]. The function may change, add or delete any
// header or claim and choose how the token is signed.
type Token struct {
	// Header is the JOSE header, pre-filled with "alg" (the authorization
	// server's, "RS256" unless [Server.SetSigningAlg] changed it), "kid" (the
	// authorization server's current signing key) and "typ" ("JWT", or
	// "logout+jwt" for logout tokens).
	Header map[string]any
	// Claims holds every claim the server would issue (see
	// [Server.MutateIDToken] and [BackchannelDelivery]).
	Claims map[string]any
	// Sign selects the signature; the zero value is [SignNormal].
	Sign SignMode
}

// SignMode selects how a (possibly mutated) ID token is signed, to produce
// tokens that a correct relying party must reject.
type SignMode int

const (
	// SignNormal signs with the authorization server's algorithm (RS256
	// unless [Server.SetSigningAlg] changed it) and its current key.
	SignNormal SignMode = iota
	// SignUnknownKey signs with the authorization server's algorithm and a
	// key that is not published in JWKS; the "kid" header is set to that
	// key's id unless the mutation changed it.
	SignUnknownKey
	// SignWrongKeySameKid signs with the authorization server's algorithm
	// and an unpublished key but keeps the published "kid", so the
	// signature does not verify.
	SignWrongKeySameKid
	// SignNone sets "alg" to "none" and leaves the signature empty.
	SignNone
	// SignHS256PublicKey sets "alg" to "HS256" and signs with HMAC-SHA256
	// keyed with the published public key in PEM ("PUBLIC KEY", PKIX)
	// form: the classic algorithm-confusion attack.
	SignHS256PublicKey
	// SignCorrupt signs normally, then flips one byte of the signature.
	SignCorrupt
)

// String returns the constant's name.
func (m SignMode) String() string {
	switch m {
	case SignNormal:
		return "SignNormal"
	case SignUnknownKey:
		return "SignUnknownKey"
	case SignWrongKeySameKid:
		return "SignWrongKeySameKid"
	case SignNone:
		return "SignNone"
	case SignHS256PublicKey:
		return "SignHS256PublicKey"
	case SignCorrupt:
		return "SignCorrupt"
	}
	return "SignMode(?)"
}

var b64 = base64.RawURLEncoding

// encodeSegments returns base64url(header) + "." + base64url(claims).
func encodeSegments(header, claims map[string]any) string {
	h, err := json.Marshal(header)
	if err != nil {
		panic("oktatest: encoding JWT header: " + err.Error())
	}
	c, err := json.Marshal(claims)
	if err != nil {
		panic("oktatest: encoding JWT claims: " + err.Error())
	}
	return b64.EncodeToString(h) + "." + b64.EncodeToString(c)
}

// rs256 returns the RS256 signature of signingInput.
func rs256(key *rsa.PrivateKey, signingInput string) []byte {
	sum := sha256.Sum256([]byte(signingInput))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		panic("oktatest: signing JWT: " + err.Error())
	}
	return sig
}

// signJWT signs claims with the key and its algorithm, setting "kid".
func signJWT(k signingKey, claims map[string]any) string {
	return signToken(&Token{
		Header: map[string]any{"alg": k.alg(), "kid": k.kid, "typ": "JWT"},
		Claims: claims,
	}, k, signingKey{})
}

// signToken serialises t as a compact JWS according to t.Sign. cur is the
// published signing key, rogue an unpublished one.
func signToken(t *Token, cur, rogue signingKey) string {
	if t.Header == nil {
		t.Header = map[string]any{}
	}
	switch t.Sign {
	case SignNone:
		t.Header["alg"] = "none"
	case SignHS256PublicKey:
		t.Header["alg"] = "HS256"
	case SignUnknownKey:
		if t.Header["kid"] == cur.kid {
			t.Header["kid"] = rogue.kid
		}
	}
	input := encodeSegments(t.Header, t.Claims)
	var sig []byte
	switch t.Sign {
	case SignNone:
	case SignHS256PublicKey:
		der, err := x509.MarshalPKIXPublicKey(cur.public())
		if err != nil {
			panic("oktatest: encoding public key: " + err.Error())
		}
		mac := hmac.New(sha256.New, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		mac.Write([]byte(input))
		sig = mac.Sum(nil)
	case SignUnknownKey, SignWrongKeySameKid:
		sig = rogue.sign(input)
	case SignCorrupt:
		sig = cur.sign(input)
		sig[len(sig)/2] ^= 0x01
	default:
		sig = cur.sign(input)
	}
	return input + "." + b64.EncodeToString(sig)
}

var errBadJWT = errors.New("oktatest: invalid JWT")

// verifyJWT checks a compact JWS signed by one of keys, with that key's
// algorithm, and returns its claims. Expiry is not checked.
func verifyJWT(token string, keys []signingKey) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errBadJWT
	}
	hb, err1 := b64.DecodeString(parts[0])
	cb, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, errBadJWT
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if json.Unmarshal(hb, &header) != nil {
		return nil, errBadJWT
	}
	for _, k := range keys {
		if k.kid != header.Kid {
			continue
		}
		if header.Alg != k.alg() || !k.verify(parts[0]+"."+parts[1], sig) {
			return nil, errBadJWT
		}
		var claims map[string]any
		dec := json.NewDecoder(strings.NewReader(string(cb)))
		dec.UseNumber()
		if dec.Decode(&claims) != nil {
			return nil, errBadJWT
		}
		return claims, nil
	}
	return nil, errBadJWT
}

// atHash returns the OIDC at_hash of an access token for RS256 and ES256:
// base64url of the left half of its SHA-256.
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return b64.EncodeToString(sum[:len(sum)/2])
}
