package oktasso

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Single-logout receivers, served by Auth.Handler.
const (
	BackchannelLogoutPath  = "/auth/backchannel-logout"
	FrontchannelLogoutPath = "/auth/frontchannel-logout"
)

const (
	maxLogoutBody     = 16 << 10
	maxLogoutToken    = 8 << 10
	logoutTokenMaxAge = 5 * time.Minute
	backchannelEvent  = "http://schemas.openid.net/event/backchannel-logout"
)

// BackchannelLogoutURL is the back-channel logout URI to register with the
// provider.
func (a *Auth) BackchannelLogoutURL() string { return a.cfg.BaseURL + BackchannelLogoutPath }

// FrontchannelLogoutURL is the front-channel logout URI to register with the
// provider (Okta's single logout).
func (a *Auth) FrontchannelLogoutURL() string { return a.cfg.BaseURL + FrontchannelLogoutPath }

// logoutClaims are the claims of an OpenID Connect back-channel logout
// token.
type logoutClaims struct {
	Issuer    string           `json:"iss"`
	Audience  audienceClaim    `json:"aud"`
	IssuedAt  int64            `json:"iat"`
	Expiry    int64            `json:"exp"`
	JTI       string           `json:"jti"`
	Subject   string           `json:"sub"`
	SessionID string           `json:"sid"`
	Events    json.RawMessage  `json:"events"`
	Nonce     *json.RawMessage `json:"nonce"`
}

// audienceClaim accepts "aud" as a string or a list of strings.
type audienceClaim []string

func (a *audienceClaim) UnmarshalJSON(p []byte) error {
	var l stringList
	if err := l.UnmarshalJSON(p); err != nil {
		return err
	}
	*a = audienceClaim(l)
	return nil
}

// handleBackchannelLogout serves POST /auth/backchannel-logout: the
// provider tells the app, server to server, that a user's session ended.
// The logout token is checked cheaply first (size, shape, alg, typ, iss,
// aud, iat window, events, sub or sid, no nonce), then its signature with
// the provider's keys; then the matching sessions end. Anything invalid is
// a 400 and changes nothing.
func (a *Auth) handleBackchannelLogout(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutBody)
	if err := r.ParseForm(); err != nil {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "the body is not a form or is too large", "")
		return
	}
	raw := r.PostForm.Get("logout_token")
	c, err := a.precheckLogoutToken(raw)
	if err == nil {
		err = a.verifyLogoutSignature(r.Context(), raw)
	}
	if err != nil {
		if errors.Is(err, ErrProviderUnavailable) {
			w.Header().Set("Retry-After", "5")
			writeJSONError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the provider's keys are unavailable", "")
			return
		}
		a.audit(r.Context(), slog.LevelWarn, Event{Name: EventBackchannelLogout, Reason: ReasonLogoutTokenInvalid}, err)
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "invalid logout token", "")
		return
	}
	key := func(app string) string { return keyBySub(app, c.Issuer, c.Subject) }
	if c.SessionID != "" {
		key = func(app string) string { return keyBySID(app, c.Issuer, c.SessionID) }
	}
	n, err := a.endIndexedAll(r.Context(), key)
	if err != nil {
		a.cfg.Logger.Error("oktasso: back-channel logout could not end sessions", "err", err.Error())
		w.Header().Set("Retry-After", "5")
		writeJSONError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "sessions could not be ended; retry", "")
		return
	}
	a.audit(r.Context(), slog.LevelInfo, Event{Name: EventBackchannelLogout, Reason: ReasonOK, Subject: c.Subject}, nil)
	a.cfg.Logger.Debug("oktasso: back-channel logout ended sessions", "count", n)
	w.WriteHeader(http.StatusOK)
}

// precheckLogoutToken checks everything that needs no key.
func (a *Auth) precheckLogoutToken(raw string) (*logoutClaims, error) {
	if raw == "" || len(raw) > maxLogoutToken {
		return nil, errors.New("missing or oversized logout_token")
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a signed JWT")
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	pb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	if err1 != nil || err2 != nil {
		return nil, errors.New("not base64url")
	}
	var h struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, errors.New("header is not JSON")
	}
	if h.Alg != string(signingAlgs[0]) {
		return nil, fmt.Errorf("alg %q is not RS256", h.Alg)
	}
	if h.Typ != "" && !strings.EqualFold(h.Typ, "logout+jwt") && !strings.EqualFold(h.Typ, "JWT") {
		return nil, fmt.Errorf("typ %q is not logout+jwt", h.Typ)
	}
	var c logoutClaims
	if err := json.Unmarshal(pb, &c); err != nil {
		return nil, errors.New("claims are not JSON")
	}
	now := a.now()
	var events map[string]json.RawMessage
	switch {
	case c.Issuer != a.provider.issuer:
		return nil, errors.New("iss is not the issuer")
	case !slices.Contains(c.Audience, a.cfg.ClientID):
		return nil, errors.New("aud is not this client")
	case c.IssuedAt == 0 || time.Unix(c.IssuedAt, 0).After(now.Add(clockSkew)) || now.Sub(time.Unix(c.IssuedAt, 0)) > logoutTokenMaxAge:
		return nil, errors.New("iat missing or outside the accepted window")
	case c.Expiry != 0 && !now.Before(time.Unix(c.Expiry, 0).Add(clockSkew)):
		return nil, errors.New("expired")
	case c.Subject == "" && c.SessionID == "":
		return nil, errors.New("neither sub nor sid")
	case c.Nonce != nil:
		return nil, errors.New("a logout token must not have a nonce")
	case json.Unmarshal(c.Events, &events) != nil:
		return nil, errors.New("events is not an object")
	}
	if ev, ok := events[backchannelEvent]; !ok || !bytes.HasPrefix(bytes.TrimSpace(ev), []byte("{")) {
		return nil, errors.New("events lacks the back-channel logout event")
	}
	return &c, nil
}

// verifyLogoutSignature checks the logout token's signature with the
// provider's keys (refetched on an unknown kid, rate-limited).
func (a *Auth) verifyLogoutSignature(ctx context.Context, raw string) error {
	d, err := a.provider.discover(ctx)
	if err != nil {
		return err
	}
	if _, err := d.keys.get(ctx, false); err != nil {
		return err
	}
	_, err = d.keys.VerifySignature(ctx, raw)
	return err
}

// handleFrontchannelLogout serves GET /auth/frontchannel-logout?iss=…&sid=…:
// Okta's single logout loads it in a hidden frame when the user signs out
// at Okta. It ends the sessions of that provider session and answers a
// blank page that only the provider may frame.
func (a *Auth) handleFrontchannelLogout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	iss, sid := q.Get("iss"), q.Get("sid")
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors "+originOf(a.provider.issuer))
	if (iss != a.provider.issuer && iss != originOf(a.provider.issuer)) || sid == "" || len(sid) > 256 {
		reason := ReasonCallbackMalformed
		if iss != a.provider.issuer && iss != originOf(a.provider.issuer) {
			reason = ReasonIssuerMismatch
		}
		a.audit(r.Context(), slog.LevelWarn, Event{Name: EventFrontchannelLogout, Reason: reason}, nil)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	// This browser's own cookie goes too, when the frame sends it.
	if s, _ := a.peekSession(r.Context(), r); s != nil && s.SID == sid {
		a.cookies.clearChunks(w)
	}
	n, err := a.endIndexedAll(r.Context(), func(app string) string { return keyBySID(app, a.provider.issuer, sid) })
	if err != nil {
		a.cfg.Logger.Error("oktasso: front-channel logout could not end sessions", "err", err.Error())
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	a.audit(r.Context(), slog.LevelInfo, Event{Name: EventFrontchannelLogout, Reason: ReasonOK}, nil)
	a.cfg.Logger.Debug("oktasso: front-channel logout ended sessions", "count", n)
	w.Write([]byte("<!doctype html><title>Signed out</title>"))
}
