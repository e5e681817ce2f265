package oktasso

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oktasso/oktasso/audit"
	"github.com/oktasso/oktasso/store"
)

// universalLogoutPath is Okta's Universal Logout receiver (the Global Token
// Revocation endpoint), served by Auth.Handler.
const universalLogoutPath = "/auth/global-token-revocation"

// Limits on a Universal Logout request.
const (
	maxRevocationBody  = 4 << 10
	maxRevocationToken = 8 << 10
	maxSubjectIDLen    = 1024
)

// UniversalLogoutURL is the Universal Logout endpoint to register in Okta
// (the application's Authentication tab, Logout section, "Okta system or
// admin initiates logout"): Okta POSTs there, with a JWT signed by the
// org's keys, when an admin clears a user's sessions or a user is
// suspended or deactivated, and every session of that user ends.
func (a *Auth) UniversalLogoutURL() string { return a.cfg.BaseURL + universalLogoutPath }

// revocationClaims are the claims of a Universal Logout token.
type revocationClaims struct {
	jwtClaims
	JTI     string `json:"jti"`
	Subject string `json:"sub"`
}

// subjectID is the sub_id of a Global Token Revocation request: format
// "iss_sub" with Issuer and Subject, or "email" with Email.
type subjectID struct {
	Format  string `json:"format"`
	Issuer  string `json:"iss"`
	Subject string `json:"sub"`
	Email   string `json:"email"`
}

var errRevocationRequest = errors.New("oktasso: malformed Universal Logout request")

// parseRevocationRequest reads the JSON body of a Universal Logout request:
// one object with a sub_id of a known format, every member it uses a
// non-empty string of printable UTF-8 (subjectPart).
func parseRevocationRequest(body []byte) (subjectID, error) {
	var req struct {
		SubID *subjectID `json:"sub_id"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return subjectID{}, fmt.Errorf("%w: %w", errRevocationRequest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return subjectID{}, fmt.Errorf("%w: data after the object", errRevocationRequest)
	}
	if req.SubID == nil {
		return subjectID{}, fmt.Errorf("%w: no sub_id object", errRevocationRequest)
	}
	id := *req.SubID
	switch id.Format {
	case "iss_sub":
		if !subjectPart(id.Issuer) || !subjectPart(id.Subject) {
			return subjectID{}, fmt.Errorf("%w: iss_sub needs iss and sub", errRevocationRequest)
		}
		id.Email = ""
	case "email":
		if !subjectPart(id.Email) || !strings.Contains(id.Email, "@") {
			return subjectID{}, fmt.Errorf("%w: email needs an email address", errRevocationRequest)
		}
		id.Issuer, id.Subject = "", ""
	default:
		return subjectID{}, fmt.Errorf("%w: unknown sub_id format", errRevocationRequest)
	}
	return id, nil
}

// subjectPart reports whether s is non-empty, at most maxSubjectIDLen
// bytes of valid UTF-8 without control characters.
func subjectPart(s string) bool {
	return s != "" && len(s) <= maxSubjectIDLen && utf8.ValidString(s) && printable(s)
}

// handleUniversalLogout serves POST /auth/global-token-revocation, Okta's
// Universal Logout: the Bearer JWT is verified (verifyRevocationToken),
// then the JSON body read, the token's jti spent, and every session of
// the user it names ended (endUser, endEmail). Answers: 204 revoked, 400 a
// malformed body, 401 bad authentication, 404 a user the application does
// not know (Hooks.UserExists) or of another issuer, 422 the store failed
// (nothing revoked), 503 the org's keys unavailable. Bad input changes
// nothing. One audit event per request.
func (a *Auth) handleUniversalLogout(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	ctx := r.Context()
	ev := audit.Event{Name: audit.EventUniversalLogout}
	c, no := a.authenticateRevocation(ctx, r.Header)
	if no != nil {
		a.refuseUniversalLogout(ctx, w, ev, no)
		return
	}
	id, no := readRevocationRequest(w, r)
	if no != nil {
		a.refuseUniversalLogout(ctx, w, ev, no)
		return
	}
	if id.Format == "iss_sub" {
		iss, ok := a.ownIssuer(id.Issuer)
		if !ok {
			a.refuseUniversalLogout(ctx, w, ev, &logoutRefusal{http.StatusNotFound, audit.ReasonIssuerMismatch, nil})
			return
		}
		id.Issuer = iss
		ev.Subject = id.Subject
	}
	n, no := a.revokeSubject(ctx, c, id)
	if no != nil {
		a.refuseUniversalLogout(ctx, w, ev, no)
		return
	}
	if !a.userKnown(ctx, id) {
		a.refuseUniversalLogout(ctx, w, ev, &logoutRefusal{http.StatusNotFound, audit.ReasonUserUnknown, nil})
		return
	}
	ev.Reason = audit.ReasonOK
	a.audit(ctx, slog.LevelInfo, ev, nil)
	a.cfg.Logger.Debug("oktasso: Universal Logout ended sessions", "stored", n)
	w.WriteHeader(http.StatusNoContent)
}

// logoutRefusal is why a Universal Logout request is refused: the HTTP
// status answered, the audit reason, and the error, if any, logged with
// the event.
type logoutRefusal struct {
	status int
	reason audit.Reason
	err    error
}

// refuseUniversalLogout records ev with no's reason (at Info for a 404,
// Warn otherwise) and answers no's status as a JSON error: with
// WWW-Authenticate on a 401 (a bare Bearer challenge when the token is
// missing) and Retry-After on a 503.
func (a *Auth) refuseUniversalLogout(ctx context.Context, w http.ResponseWriter, ev audit.Event, no *logoutRefusal) {
	ev.Reason = no.reason
	level := slog.LevelWarn
	if no.status == http.StatusNotFound {
		level = slog.LevelInfo
	}
	a.audit(ctx, level, ev, no.err)
	code := map[int]string{http.StatusBadRequest: "invalid_request", http.StatusUnauthorized: "invalid_token",
		http.StatusNotFound: "not_found", http.StatusUnprocessableEntity: "revocation_failed", http.StatusServiceUnavailable: "temporarily_unavailable"}[no.status]
	switch no.status {
	case http.StatusUnauthorized:
		if no.reason == audit.ReasonTokenMissing {
			w.Header().Set("WWW-Authenticate", `Bearer`)
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5")
	}
	writeJSONError(w, no.status, code, http.StatusText(no.status), "")
}

// authenticateRevocation reads the Bearer token of a Universal Logout
// request (bearerToken) and verifies it (verifyRevocationToken): its
// claims, or a 401 refusal, or a 503 when the org's keys are unavailable
// or the request's context ended.
func (a *Auth) authenticateRevocation(ctx context.Context, h http.Header) (*revocationClaims, *logoutRefusal) {
	raw, reason := bearerToken(h)
	if reason != audit.ReasonOK {
		return nil, &logoutRefusal{http.StatusUnauthorized, reason, nil}
	}
	c, err := a.verifyRevocationToken(ctx, raw)
	if err != nil {
		if errors.Is(err, ErrProviderUnavailable) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, &logoutRefusal{http.StatusServiceUnavailable, audit.ReasonProviderUnavailable, err}
		}
		return nil, &logoutRefusal{http.StatusUnauthorized, reasonOf(err), err}
	}
	return c, nil
}

// readRevocationRequest reads and parses the body of a Universal Logout
// request (parseRevocationRequest), at most maxRevocationBody bytes of
// application/json: the subject it names, or a 400 refusal.
func readRevocationRequest(w http.ResponseWriter, r *http.Request) (subjectID, *logoutRefusal) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return subjectID{}, &logoutRefusal{http.StatusBadRequest, audit.ReasonRequestMalformed, errors.New("oktasso: Content-Type is not application/json")}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRevocationBody))
	if err != nil {
		return subjectID{}, &logoutRefusal{http.StatusBadRequest, audit.ReasonRequestMalformed, errors.New("oktasso: unreadable or oversized body")}
	}
	id, err := parseRevocationRequest(body)
	if err != nil {
		return subjectID{}, &logoutRefusal{http.StatusBadRequest, audit.ReasonRequestMalformed, err}
	}
	return id, nil
}

// revokeSubject spends the jti of c (spendJTI) and then ends every session
// of id, by email or by issuer and subject: the number of sessions the
// store ended. A replayed token is a 401 refusal, a store failure a 422;
// when ending the sessions fails, the jti is released so that the sender
// may retry with the same token.
func (a *Auth) revokeSubject(ctx context.Context, c *revocationClaims, id subjectID) (int, *logoutRefusal) {
	if id.Format == "email" && !a.sessionsCarryEmail() {
		// A 204 would tell Okta the user was signed out while no mark
		// could match a session: refuse, so the failure shows in Okta.
		return 0, &logoutRefusal{http.StatusUnprocessableEntity, audit.ReasonEmailNotKept, errors.New("oktasso: an email-format Universal Logout, but sessions carry no email (the email scope is not requested)")}
	}
	release, err := a.spendJTI(ctx, c)
	if err != nil {
		return 0, &logoutRefusal{http.StatusUnprocessableEntity, audit.ReasonStoreUnavailable, err}
	}
	if release == nil {
		return 0, &logoutRefusal{http.StatusUnauthorized, audit.ReasonTokenReplayed, nil}
	}
	var n int
	if id.Format == "email" {
		n, err = a.endEmail(ctx, id.Email)
	} else {
		n, err = a.endUser(ctx, id.Issuer, id.Subject)
	}
	if err != nil {
		release() // the sender may retry with this very token
		return 0, &logoutRefusal{http.StatusUnprocessableEntity, audit.ReasonStoreUnavailable, err}
	}
	return n, nil
}

// userKnown asks Hooks.UserExists whether the application knows id; with
// no hook, or when the hook fails (logged), the user counts as known.
func (a *Auth) userKnown(ctx context.Context, id subjectID) bool {
	exists := a.cfg.Hooks.UserExists
	if exists == nil {
		return true
	}
	known, err := exists(ctx, id.Issuer, id.Subject, id.Email)
	if err != nil {
		a.cfg.Logger.Warn("oktasso: Hooks.UserExists failed; answering Universal Logout as for a known user", "err", err.Error())
		return true
	}
	return known
}

// bearerToken reads the one Authorization: Bearer header of a request; the
// reason is ReasonOK, ReasonTokenMissing or ReasonRequestMalformed.
func bearerToken(h http.Header) (string, audit.Reason) {
	vals := h.Values("Authorization")
	if len(vals) == 0 {
		return "", audit.ReasonTokenMissing
	}
	scheme, tok, ok := strings.Cut(vals[0], " ")
	if len(vals) != 1 || !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", audit.ReasonRequestMalformed
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || len(tok) > maxRevocationToken {
		return "", audit.ReasonRequestMalformed
	}
	return tok, audit.ReasonOK
}

// verifyRevocationToken checks a Universal Logout token through verifyJWT
// with the org authorization server's keys: typ
// global-token-revocation+jwt, RS256, iss the org URL, aud this endpoint's
// URL, exp, nbf and iat with ClockSkew, a jti.
func (a *Auth) verifyRevocationToken(ctx context.Context, raw string) (*revocationClaims, error) {
	p, err := a.orgProvider()
	if err != nil {
		return nil, tokenErrorf(audit.ReasonIssuerMismatch, "no org authorization server: %v", err)
	}
	var c revocationClaims
	if _, _, err := p.verifyJWT(ctx, raw, expect{kind: revocationToken, audience: a.UniversalLogoutURL(), now: a.now()}, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// orgProvider is the org authorization server, whose keys sign Universal
// Logout tokens even when sign-in uses a custom authorization server: the
// configured issuer's origin ("https://{domain}"). When that is the
// configured issuer it is a.provider; otherwise a second Provider, made on
// first use, with the same HTTP client, clock, limits and lazy discovery.
func (a *Auth) orgProvider() (*Provider, error) {
	org := originOf(a.provider.issuer)
	if org == a.provider.issuer {
		return a.provider, nil
	}
	a.orgKeys.once.Do(func() {
		a.orgKeys.p, a.orgKeys.err = NewProvider(org, a.cfg.HTTPClient, a.cfg.Now, a.cfg.Logger)
	})
	return a.orgKeys.p, a.orgKeys.err
}

// ownIssuer maps iss, the configured issuer or its org URL, to the
// configured issuer (the one sessions carry).
func (a *Auth) ownIssuer(iss string) (string, bool) {
	if iss != "" && (iss == a.provider.issuer || iss == originOf(a.provider.issuer)) {
		return a.provider.issuer, true
	}
	return "", false
}

// spendJTI records the token's jti until it expires, across instances
// (store.LockStore's TryLock; else Get then Set). It returns nil and no
// error for a jti already spent, and otherwise a func that forgets it
// again, for when the revocation fails and the sender should retry.
func (a *Auth) spendJTI(ctx context.Context, c *revocationClaims) (func(), error) {
	key := "jti:" + a.indexApp() + c.Issuer + "|" + c.JTI
	ttl := max(unixTime(c.Expiry).Add(clockSkew).Sub(a.now()), time.Second)
	if ls, ok := a.cfg.Store.(store.LockStore); ok {
		got, err := ls.TryLock(ctx, key, "spent", ttl)
		if err != nil || !got {
			return nil, err
		}
		return func() { _ = ls.Unlock(context.WithoutCancel(ctx), key, "spent") }, nil
	}
	_, err := a.cfg.Store.Get(ctx, key)
	if err == nil {
		return nil, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err := a.cfg.Store.Set(ctx, key, []byte{1}, ttl); err != nil {
		return nil, err
	}
	return func() { _ = a.cfg.Store.Delete(context.WithoutCancel(ctx), key) }, nil
}

// EndSessions ends every session of a user, on every instance sharing
// Config.Store: what a Universal Logout request from Okta does, for an
// application's own "sign out everywhere", an admin console, or directory
// sync when a user is suspended or deactivated. issuer is the configured
// issuer or its org URL ("https://{domain}", the issuer Okta's Universal
// Logout names users with); subject is the user's id at the provider
// (User.Subject; Okta's "00u…").
//
// Cookie sessions end at their next request, through a "not before" mark
// in the store (on other instances within Session.RevocationCacheTTL, when
// set); sessions kept in the store and refreshed tokens are deleted. A
// user without sessions is no error. When the store fails the error wraps
// its error, and when that failure came first nothing has changed.
func (a *Auth) EndSessions(ctx context.Context, issuer, subject string) error {
	iss, ok := a.ownIssuer(issuer)
	if !ok {
		return fmt.Errorf("oktasso: EndSessions: issuer %q is neither the configured issuer %q nor its org URL %q", issuer, a.provider.issuer, originOf(a.provider.issuer))
	}
	if !subjectPart(subject) {
		return errors.New("oktasso: EndSessions: subject is empty, too long or not printable")
	}
	n, err := a.endUser(ctx, iss, subject)
	if err != nil {
		a.audit(ctx, slog.LevelError, audit.Event{Name: audit.EventSessionsEnded, Reason: audit.ReasonStoreUnavailable, Subject: subject}, err)
		return fmt.Errorf("oktasso: ending the sessions of %q: %w", subject, err)
	}
	a.audit(ctx, slog.LevelInfo, audit.Event{Name: audit.EventSessionsEnded, Reason: audit.ReasonOK, Subject: subject}, nil)
	a.cfg.Logger.Debug("oktasso: ended a user's sessions", "stored", n)
	return nil
}

// sessionsCarryEmail reports whether sessions may carry the verified email
// that an email-format Universal Logout matches: the sign-in asks for the
// email scope, or a plain OAuth 2.0 provider maps an email.
func (a *Auth) sessionsCarryEmail() bool {
	if a.cfg.OAuth2 != nil {
		return true
	}
	return slices.Contains(a.cfg.Scopes, "email")
}
