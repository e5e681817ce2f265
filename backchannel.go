package oktasso

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/oktasso/oktasso/audit"
)

// Single-logout receivers, served by Auth.Handler.
const (
	backchannelLogoutPath  = "/auth/backchannel-logout"
	frontchannelLogoutPath = "/auth/frontchannel-logout"
)

const (
	maxLogoutBody    = 16 << 10
	maxLogoutToken   = 8 << 10
	backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"
)

// BackchannelLogoutURL is the back-channel logout URI to register with the
// provider.
func (a *Auth) BackchannelLogoutURL() string { return a.cfg.BaseURL + backchannelLogoutPath }

// FrontchannelLogoutURL is the front-channel logout URI to register with the
// provider (Okta's single logout).
func (a *Auth) FrontchannelLogoutURL() string { return a.cfg.BaseURL + frontchannelLogoutPath }

// logoutClaims are the claims of an OpenID Connect back-channel logout
// token.
type logoutClaims struct {
	jwtClaims
	JTI       string           `json:"jti"`
	Subject   string           `json:"sub"`
	SessionID string           `json:"sid"`
	Events    json.RawMessage  `json:"events"`
	Nonce     *json.RawMessage `json:"nonce"`
}

// handleBackchannelLogout serves POST /auth/backchannel-logout: the
// provider tells the app, server to server, that a user's session ended.
// The logout token goes through verifyJWT: first the checks that need no
// key (size, shape, alg, typ, iss, aud, iat window, events, sub or sid, no
// nonce), then its signature with the provider's keys; then the matching
// sessions end. Anything invalid is a 400 and changes nothing.
func (a *Auth) handleBackchannelLogout(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutBody)
	if err := r.ParseForm(); err != nil {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "the body is not a form or is too large", "")
		return
	}
	raw := r.PostForm.Get("logout_token")
	c, err := a.verifyLogoutToken(r.Context(), raw)
	if err != nil {
		if errors.Is(err, ErrProviderUnavailable) {
			w.Header().Set("Retry-After", "5")
			writeJSONError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the provider's keys are unavailable", "")
			return
		}
		a.audit(r.Context(), slog.LevelWarn, audit.Event{Name: audit.EventBackchannelLogout, Reason: audit.ReasonLogoutTokenInvalid}, err)
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "invalid logout token", "")
		return
	}
	var n int
	if c.SessionID != "" {
		n, err = a.endSID(r.Context(), c.Issuer, c.SessionID)
	} else {
		n, err = a.endUser(r.Context(), c.Issuer, c.Subject)
	}
	if err != nil {
		a.cfg.Logger.Error("oktasso: back-channel logout could not end sessions", "err", err.Error())
		w.Header().Set("Retry-After", "5")
		writeJSONError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "sessions could not be ended; retry", "")
		return
	}
	a.audit(r.Context(), slog.LevelInfo, audit.Event{Name: audit.EventBackchannelLogout, Reason: audit.ReasonOK, Subject: c.Subject}, nil)
	a.cfg.Logger.Debug("oktasso: back-channel logout ended sessions", "count", n)
	w.WriteHeader(http.StatusOK)
}

// verifyLogoutToken checks a back-channel logout token (see verifyJWT and
// checkClaims) and returns its claims.
func (a *Auth) verifyLogoutToken(ctx context.Context, raw string) (*logoutClaims, error) {
	if raw == "" || len(raw) > maxLogoutToken {
		return nil, tokenErrorf(audit.ReasonTokenInvalid, "missing or oversized logout_token")
	}
	var c logoutClaims
	if _, _, err := a.provider.verifyJWT(ctx, raw, expect{kind: logoutToken, audience: a.cfg.Client.ID, now: a.now()}, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Front-channel logout is an unauthenticated GET (its iss and sid are all
// it carries), yet each one writes a mark that lasts as long as a session:
// markLimiter bounds how many it writes, so a flood of made-up sids cannot
// grow the store without bound (at most frontchannelRate a second per
// instance, in bursts of frontchannelBurst). Okta's own front-channel
// requests come one per sign-out at Okta.
const (
	frontchannelRate  = 10
	frontchannelBurst = 200
)

// markLimiter is a token bucket; the zero value is full. Safe for
// concurrent use.
type markLimiter struct {
	mu     sync.Mutex
	used   float64 // tokens spent, recovering at frontchannelRate a second
	last   time.Time
	filled bool
}

// allow spends a token if one is left at now.
func (l *markLimiter) allow(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case !l.filled:
		l.last, l.filled = now, true
	case now.After(l.last):
		l.used = max(0, l.used-now.Sub(l.last).Seconds()*frontchannelRate)
		l.last = now
	default: // the clock stepped back: no refill, and none owed either
		l.last = now
	}
	if l.used+1 > frontchannelBurst {
		return false
	}
	l.used++
	return true
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
		reason := audit.ReasonCallbackMalformed
		if iss != a.provider.issuer && iss != originOf(a.provider.issuer) {
			reason = audit.ReasonIssuerMismatch
		}
		a.audit(r.Context(), slog.LevelWarn, audit.Event{Name: audit.EventFrontchannelLogout, Reason: reason}, nil)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	// This browser's own cookie goes too, when the frame sends it.
	if s, _ := a.peekSession(r.Context(), r); s != nil && s.SID == sid {
		a.cookies.clearChunks(w)
	}
	if !a.frontchannel.allow(a.now()) {
		a.cfg.Logger.Warn("oktasso: front-channel logout requests arrive faster than their marks may be written; answered one with 503")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	n, err := a.endSID(r.Context(), a.provider.issuer, sid)
	if err != nil {
		a.cfg.Logger.Error("oktasso: front-channel logout could not end sessions", "err", err.Error())
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	a.audit(r.Context(), slog.LevelInfo, audit.Event{Name: audit.EventFrontchannelLogout, Reason: audit.ReasonOK}, nil)
	a.cfg.Logger.Debug("oktasso: front-channel logout ended sessions", "count", n)
	w.Write([]byte("<!doctype html><title>Signed out</title>"))
}
