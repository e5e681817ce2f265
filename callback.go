package oktasso

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oktasso/oktasso/audit"
	"github.com/oktasso/oktasso/store"

	"golang.org/x/oauth2"
)

// Limits on callback parameters; real values are far shorter.
const (
	maxStateLen = 256
	maxCodeLen  = 2048
	maxErrorLen = 1024
	// maxErrorCodeLen bounds the error code; real ones are short ASCII words.
	maxErrorCodeLen = 64
)

// handleCallback serves GET /auth/callback: the provider's answer to a
// sign-in started by StartLogin. Everything about the request is checked
// before the token endpoint is called. GET /auth/callback/{name} is the
// callback of the Purpose with that name and the default callback path.
func (a *Auth) handleCallback(w http.ResponseWriter, r *http.Request) {
	if name := r.PathValue("purpose"); name != "" {
		if p := a.purpose(name); p != nil && p.path == CallbackPath+"/"+name {
			p.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
		return
	}
	f, u, tok, ok := a.finishFlow(w, r, "")
	if !ok {
		return
	}
	if f.Enroll {
		a.audit(r.Context(), slog.LevelInfo, audit.Event{Name: audit.EventEnrolled, Reason: audit.ReasonOK, Subject: u.Subject}, nil)
		a.redirect(w, r, f.ReturnTo, http.StatusFound)
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	if err := a.admit(r, u, tok); err != nil {
		a.loginFailed(w, r, err)
		return
	}
	old, _ := a.peekSession(r.Context(), r)
	s := sessionFor(u, rawID, a.now(), a.cfg.Session.MaxAge)
	s.Claims = a.keptClaims(u.Claims)
	if tok.RefreshToken != "" {
		s.RefreshToken = tok.RefreshToken
	}
	a.noteRefreshToken(tok)
	if a.cfg.Session.KeepAccessToken {
		s.AccessToken = tok.AccessToken
	}
	s.TokenExpiry = a.tokenExpiry(tok) // from Config.Now, as refresh dates it
	s.TokenLife = int64(tokenLife(tok) / time.Second)
	if err := a.issueSession(r.Context(), w, s); err != nil {
		a.audit(r.Context(), slog.LevelError, audit.Event{Name: audit.EventLoginFailed, Reason: reasonOf(err), Subject: u.Subject}, err)
		a.fail(w, r, http.StatusInternalServerError, err, pageLoginFailed)
		return
	}
	if old != nil && old.ID != s.ID {
		// A new sign-in (or a step-up) replaces the browser's session: the
		// old one ends, so a copy of its cookie is worth nothing.
		if err := a.endSessions(r.Context(), old.ID); err != nil {
			a.cfg.Logger.Warn("oktasso: could not end the replaced session", "err", err.Error())
		}
	}
	level, reason, warning := completion(u)
	a.audit(r.Context(), level, audit.Event{Name: audit.EventLogin, Reason: reason, Subject: u.Subject}, warning)
	a.redirect(w, r, f.ReturnTo, http.StatusFound)
}

// finishFlow checks a callback request for purpose ("" for sign-in),
// consumes its flow, redeems the code and verifies the ID token and the
// flow's requirements (acr, amr, subject). An enrollment's answer has no
// code: its user is the session's, and the token is nil. When it returns
// ok false it has answered the request.
func (a *Auth) finishFlow(w http.ResponseWriter, r *http.Request, purpose string) (*flow, *User, *oauth2.Token, bool) {
	noStore(w)
	q := r.URL.Query()
	state, code := q.Get("state"), q.Get("code")
	if !callbackParamsFit(q) {
		a.callbackFail(w, r, http.StatusBadRequest, withReason(audit.ReasonCallbackMalformed, fmt.Errorf("%w: missing or oversized parameters", ErrInvalidCallback)), pageBadCallback)
		return nil, nil, nil, false
	}
	f, err := a.consumeFlow(w, r, state, purpose)
	if err != nil {
		a.callbackFail(w, r, http.StatusBadRequest, err, pageBadCallback)
		return nil, nil, nil, false
	}

	d, err := a.provider.discover(r.Context())
	if err != nil {
		a.audit(r.Context(), slog.LevelWarn, audit.Event{Name: audit.EventLoginFailed, Reason: audit.ReasonProviderUnavailable}, err)
		a.unavailable(w, r, err)
		return nil, nil, nil, false
	}
	if err := a.checkIssParameter(q, d); err != nil {
		a.callbackFail(w, r, http.StatusBadRequest, err, pageBadCallback)
		return nil, nil, nil, false
	}
	if e := q.Get("error"); e != "" {
		a.providerRefused(w, r, f, e, q.Get("error_description"))
		return nil, nil, nil, false
	}
	if f.Enroll {
		// Okta answers response_type=none with the state alone; a code,
		// which was not asked for, is not redeemed.
		u, err := a.enrolledUser(r, f)
		if err != nil {
			a.callbackFail(w, r, http.StatusForbidden, err, pageRefused)
			return nil, nil, nil, false
		}
		return f, u, nil, true
	}
	if code == "" {
		a.callbackFail(w, r, http.StatusBadRequest, withReason(audit.ReasonCallbackMalformed, fmt.Errorf("%w: no code", ErrInvalidCallback)), pageBadCallback)
		return nil, nil, nil, false
	}

	u, tok, err := a.exchange(r.Context(), d, f, code)
	if err == nil {
		err = f.satisfiedBy(u)
	}
	if err != nil {
		a.loginFailed(w, r, err)
		return nil, nil, nil, false
	}
	return f, u, tok, true
}

// enrolledUser is the user of an enrollment's answer: the browser's
// session must still be that of the user who started it.
func (a *Auth) enrolledUser(r *http.Request, f *flow) (*User, error) {
	s, _ := a.peekSession(r.Context(), r)
	if s == nil || f.Subject == "" || s.Subject != f.Subject {
		return nil, withReason(audit.ReasonSubjectMismatch, &Error{Code: "access_denied", Description: "You are no longer signed in as the person who started this enrollment. Sign in and start it again."})
	}
	return s.user(), nil
}

// callbackParamsFit reports whether a callback's query has a state and
// no parameter longer than its limit.
func callbackParamsFit(q url.Values) bool {
	return q.Get("state") != "" && len(q.Get("state")) <= maxStateLen && len(q.Get("code")) <= maxCodeLen &&
		len(q.Get("error_description")) <= maxErrorLen && len(q.Get("error")) <= maxErrorCodeLen
}

// consumeFlow opens the flow cookie for state, checks that it is fresh, for
// purpose and not used before, and deletes it. The error says why the
// callback is refused.
func (a *Auth) consumeFlow(w http.ResponseWriter, r *http.Request, state, purpose string) (*flow, error) {
	name := a.flowCookieName(state)
	ck, err := r.Cookie(name)
	var f flow
	if err != nil || a.cookies.flow.open(name, ck.Value, a.now(), &f) != nil ||
		subtle.ConstantTimeCompare([]byte(f.State), []byte(state)) != 1 ||
		a.now().Sub(time.Unix(f.Created, 0)) > flowTTL || f.Purpose != purpose {
		return nil, withReason(audit.ReasonStateMismatch, fmt.Errorf("%w: no pending sign-in for this state", ErrInvalidCallback))
	}
	// The flow is consumed whatever happens next: a replayed callback finds
	// neither the cookie nor an unused state.
	a.cookies.set(w, name, "", -1)
	if !a.firstUse(r.Context(), state, time.Unix(f.Created, 0).Add(flowTTL)) {
		return nil, withReason(audit.ReasonStateReplayed, fmt.Errorf("%w: state already used", ErrInvalidCallback))
	}
	return &f, nil
}

// checkIssParameter checks the callback's iss parameter against the issuer,
// and that it is present when the provider says it sends it (RFC 9207).
func (a *Auth) checkIssParameter(q url.Values, d *discovered) error {
	if iss, ok := q["iss"]; ok {
		if len(iss) != 1 || iss[0] != a.provider.issuer {
			return withReason(audit.ReasonIssParameterMismatch, fmt.Errorf("%w: iss parameter is not the issuer (RFC 9207)", ErrInvalidCallback))
		}
	} else if d.meta.IssParameterSupported {
		return withReason(audit.ReasonIssParameterMismatch, fmt.Errorf("%w: iss parameter missing though the provider sends it (RFC 9207)", ErrInvalidCallback))
	}
	return nil
}

// providerRefused answers a callback carrying the provider's error e: a
// silent sign-in falls back quietly, anything else is audited and shown.
// Each is a 4xx: the browser's request is fine, the provider declined.
func (a *Auth) providerRefused(w http.ResponseWriter, r *http.Request, f *flow, e, description string) {
	if f.Silent != 0 && silentFailure[e] {
		// No Okta session for this browser: fall back quietly.
		a.audit(r.Context(), slog.LevelInfo, audit.Event{Name: audit.EventLoginRefused, Reason: audit.ReasonSilentLoginFailed}, nil)
		if f.Silent == silentInteractive {
			a.StartLogin(w, r, f.ReturnTo)
		} else {
			a.redirect(w, r, f.ReturnTo, http.StatusFound)
		}
		return
	}
	oe := &Error{Code: e, Description: description}
	reason, status, kind := audit.ReasonProviderError, http.StatusBadRequest, pageProviderError
	switch {
	case e == "unmet_authentication_requirements":
		// 403, not 401: the user authenticated, but not as strongly as
		// asked, and a 401 must carry a WWW-Authenticate challenge that a
		// browser could answer, which a callback has none of. A step-up
		// refused after the fact (satisfiedBy) is a 403 too.
		reason, status, kind = audit.ReasonUnmetRequirements, http.StatusForbidden, pageUnmetRequirements
	case silentFailure[e]:
		// prompt=none asked by the application, not the guards' silent
		// attempt: the person has to sign in with a page.
		reason, status, kind = audit.ReasonInteractionRequired, http.StatusForbidden, pageInteractionRequired
	case e == "access_denied":
		status = http.StatusForbidden
		if strings.Contains(strings.ToLower(oe.Description), "not assigned") {
			reason = audit.ReasonNotAssigned
		}
	}
	a.audit(r.Context(), slog.LevelInfo, audit.Event{Name: audit.EventLoginRefused, Reason: reason, Subject: f.Subject}, oe)
	if kind == pageProviderError {
		a.fail(w, r, status, oe, kind)
		return
	}
	a.failRetry(w, r, status, oe, kind, f.ReturnTo)
}

// failRetry is fail for a page whose "Sign in again" goes back to
// returnTo, where the application asks again for what it needs.
func (a *Auth) failRetry(w http.ResponseWriter, r *http.Request, status int, err error, kind pageKind, returnTo string) {
	if a.cfg.Hooks.ErrorHandler != nil {
		a.fail(w, r, status, err, kind)
		return
	}
	p := a.pageFor(kind, err, UserFrom(r.Context()))
	p.LoginURL = a.LoginURL(returnTo)
	a.render(w, status, p)
}

// silentFailure are the errors a prompt=none request gets when the user
// would have to interact (OpenID Connect Core 3.1.2.6).
var silentFailure = map[string]bool{
	"login_required": true, "interaction_required": true, "consent_required": true, "account_selection_required": true,
}

// satisfiedBy checks a verified user against what the flow asked for: a
// step-up's acr and amr, and the user who started it.
func (f *flow) satisfiedBy(u *User) error {
	if f.Subject != "" && u.Subject != f.Subject {
		return withReason(audit.ReasonSubjectMismatch, &Error{Code: "access_denied", Description: "You verified as a different user than the one signed in. Sign out first to switch accounts."})
	}
	if len(f.ACR) > 0 && !slices.Contains(f.ACR, u.ACR) {
		return withReason(audit.ReasonStepUpFailed, &Error{Code: "access_denied", Description: "The additional verification this page needs was not completed."})
	}
	for _, m := range f.AMR {
		if !slices.Contains(u.AMR, m) {
			return withReason(audit.ReasonStepUpFailed, &Error{Code: "access_denied", Description: "The additional verification this page needs was not completed."})
		}
	}
	return nil
}

// exchange redeems the code with the PKCE verifier, checks that the token
// response is of type Bearer, verifies the ID token and reads userinfo, and
// returns the user and the token response.
func (a *Auth) exchange(ctx context.Context, d *discovered, f *flow, code string) (*User, *oauth2.Token, error) {
	octx := context.WithValue(ctx, oauth2.HTTPClient, a.tokenHTTP)
	tok, err := a.flowConfig(d, f).Exchange(octx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" && re.Response.StatusCode < 500 {
			return nil, nil, &tokenEndpointError{&Error{Code: re.ErrorCode, Description: re.ErrorDescription}, re.Response.StatusCode}
		}
		return nil, nil, fmt.Errorf("%w: token endpoint: %w", ErrProviderUnavailable, err)
	}
	if err := checkTokenType(tok, a.cfg.OAuth2 != nil); err != nil {
		return nil, nil, err
	}
	if a.cfg.OAuth2 != nil { // no ID token: the user is whoever userinfo describes
		u, err := a.oauth2User(ctx, d, tok)
		return u, tok, err
	}
	u, err := a.idTokenUser(ctx, f, tok)
	if err != nil {
		return nil, nil, err
	}
	if err := a.readUserInfo(ctx, d, u, tok.AccessToken); err != nil {
		return nil, nil, err
	}
	return u, tok, nil
}

// checkTokenType refuses a token response whose token_type is not Bearer,
// in any case (RFC 6749 section 5.1; OpenID Connect Core 3.1.3.3): its
// access token is not one that userinfo or the application could use as
// a bearer token. A plain OAuth 2.0 provider may leave token_type out
// (x/oauth2 then takes Bearer); an OpenID provider must send it.
func checkTokenType(tok *oauth2.Token, plain bool) error {
	if strings.EqualFold(tok.TokenType, "Bearer") || (plain && tok.TokenType == "") {
		return nil
	}
	return tokenErrorf(audit.ReasonTokenInvalid, "the token response's token_type is %.32q, not Bearer", tok.TokenType)
}

// errNoUserInfo is why userinfo cannot be read at all.
var errNoUserInfo = errors.New("oktasso: userinfo: the provider advertises no userinfo_endpoint, or the token response has no access token")

// userInfoError is a userinfo endpoint that could not be read after a good
// code exchange, with Access.RequireUserInfo set.
type userInfoError struct{ err error }

func (e *userInfoError) Error() string { return "oktasso: userinfo is required: " + e.err.Error() }
func (e *userInfoError) Unwrap() error { return e.err }

// readUserInfo adds userinfo to u. A failure to read it (an error status,
// a timeout, an answer that is not claims) leaves u as the ID token
// describes it, noted in u.userInfoErr, unless Access.RequireUserInfo makes
// it a *userInfoError. Userinfo about another subject is always refused.
func (a *Auth) readUserInfo(ctx context.Context, d *discovered, u *User, accessToken string) error {
	if d.meta.UserInfoEndpoint == "" || accessToken == "" {
		if a.cfg.Access.RequireUserInfo {
			return withReason(audit.ReasonUserInfoUnavailable, &userInfoError{errNoUserInfo})
		}
		return nil
	}
	err := a.addUserInfo(ctx, d, u, accessToken)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrInvalidToken): // about another subject: not a failure to read
		return err
	case a.cfg.Access.RequireUserInfo:
		return withReason(audit.ReasonUserInfoUnavailable, &userInfoError{err})
	}
	u.userInfoErr = err
	return nil
}

// completion is how a completed sign-in of u is audited: ok, or a warning
// when userinfo could not be read and the ID token's claims were used, or
// when the groups claim may have been cut short.
func completion(u *User) (slog.Level, audit.Reason, error) {
	var uiErr, groupsErr error
	if u.userInfoErr != nil {
		uiErr = fmt.Errorf("oktasso: userinfo could not be read; signed in with the ID token's claims (set Access.RequireUserInfo to refuse instead): %w", u.userInfoErr)
	}
	if u.groupsTruncated {
		groupsErr = fmt.Errorf("oktasso: the groups claim has %d groups, as many as Okta sends at most, so some may be missing; signed in with them (set Access.GroupsSource to read every group)", len(u.Groups))
	}
	switch {
	case uiErr != nil:
		return slog.LevelWarn, audit.ReasonUserInfoUnavailable, errors.Join(uiErr, groupsErr)
	case groupsErr != nil:
		return slog.LevelWarn, audit.ReasonGroupsTruncated, groupsErr
	}
	return slog.LevelInfo, audit.ReasonOK, nil
}

// idTokenUser verifies the ID token of the token response tok against the
// flow f and returns the user it describes.
func (a *Auth) idTokenUser(ctx context.Context, f *flow, tok *oauth2.Token) (*User, error) {
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return nil, fmt.Errorf("%w: the token response has no id_token (is the openid scope granted?)", ErrInvalidToken)
	}
	c, claims, err := a.provider.verifyIDToken(ctx, rawID, verifyRequest{
		clientID: a.cfg.Client.ID, nonce: f.Nonce, accessToken: tok.AccessToken,
		maxAge: time.Duration(f.MaxAge) * time.Second, checkMaxAge: f.HasMaxAge,
		// Every claim is decoded only when something reads them: OnLogin
		// (User.Claims), kept claims (policies), or the groups-claim test
		// for GroupsSource.
		allClaims: a.cfg.Hooks.OnLogin != nil || a.cfg.Access.GroupsSource != nil || len(a.claimNames()) > 0,
	})
	if err != nil {
		return nil, err
	}
	u := &User{
		Issuer: a.provider.issuer, Subject: c.Subject, Email: c.Email, EmailVerified: bool(c.EmailVerified),
		Name: c.Name, Username: c.PreferredUsername, Groups: c.Groups, SessionID: c.SessionID, Claims: claims,
		ACR: c.ACR, AMR: c.AMR,
	}
	if c.AuthTime != 0 {
		u.AuthTime = time.Unix(c.AuthTime, 0)
	}
	return u, nil
}

// addUserInfo reads userinfo with accessToken for u's subject and fills
// what the ID token left out, claims included.
func (a *Auth) addUserInfo(ctx context.Context, d *discovered, u *User, accessToken string) error {
	// Every claim is decoded only when the ID token's were (u.Claims).
	ui, uiClaims, err := a.provider.userInfo(ctx, d, accessToken, u.Subject, u.Claims != nil)
	if err != nil {
		return err
	}
	mergeUserInfo(u, ui)
	for k, v := range uiClaims {
		if u.Claims == nil {
			break
		}
		if _, ok := u.Claims[k]; !ok {
			u.Claims[k] = v
		}
	}
	return nil
}

// mergeUserInfo fills what the ID token left out; the ID token wins.
func mergeUserInfo(u *User, ui *idClaims) {
	if u.Email == "" && ui.Email != "" {
		u.Email, u.EmailVerified = ui.Email, bool(ui.EmailVerified)
	}
	if u.Name == "" {
		u.Name = ui.Name
	}
	if u.Username == "" {
		u.Username = ui.PreferredUsername
	}
	if len(u.Groups) == 0 {
		u.Groups = ui.Groups
	}
}

// admit decides groups and membership, applies the sign-in policy and
// runs the application's OnLogin hook.
func (a *Auth) admit(r *http.Request, u *User, tok *oauth2.Token) error {
	u.apiGroups = a.usesGroupsSource(u)
	u.groupsTruncated = a.groupsMaybeTruncated(u)
	if err := a.decideMembership(r, u, u.apiGroups, true); err != nil {
		return err
	}
	f, err := a.check(a.cfg.Access.SignIn, r, u, true)
	if err != nil {
		return &errMembership{err}
	}
	if f != "" {
		reason, desc := audit.ReasonNotAllowed, "Your account does not meet a requirement of this application: "+f+"."
		if f == emailDomainRequirement {
			reason, desc = audit.ReasonEmailDomain, "Your account's email domain is not allowed to sign in to this application."
		}
		return withReason(reason, &Error{Code: "access_denied", Description: desc})
	}
	if a.cfg.Hooks.OnLogin != nil {
		decided := u.Internal
		if err := a.cfg.Hooks.OnLogin(r.Context(), u, tok); err != nil {
			return fmt.Errorf("oktasso: OnLogin: %w", err)
		}
		u.Internal = decided // the Workspace policy's to decide, not OnLogin's
	}
	return nil
}

// tokenEndpointError is an error answer from the token endpoint (not a
// refused token: that is a TokenError).
type tokenEndpointError struct {
	oauth  *Error
	status int
}

func (e *tokenEndpointError) Error() string { return e.oauth.Error() }
func (e *tokenEndpointError) Unwrap() error { return e.oauth }

// callbackFail audits a callback refused before the code exchange and
// shows its page.
func (a *Auth) callbackFail(w http.ResponseWriter, r *http.Request, status int, err error, kind pageKind) {
	a.audit(r.Context(), slog.LevelInfo, audit.Event{Name: audit.EventLoginFailed, Reason: reasonOf(err)}, err)
	a.fail(w, r, status, err, kind)
}

// loginFailed audits a failed exchange, verification or refusal and maps it
// to a page.
func (a *Auth) loginFailed(w http.ResponseWriter, r *http.Request, err error) {
	var te *tokenEndpointError
	var oe *Error
	var me *errMembership
	var ue *userInfoError
	reason := reasonOf(err)
	ev := func(level slog.Level, name string) {
		a.audit(r.Context(), level, audit.Event{Name: name, Reason: reason}, err)
	}
	switch {
	case errors.As(err, &te) && te.oauth.Code == "invalid_client":
		ev(slog.LevelError, audit.EventLoginFailed) // check OKTA_CLIENT_ID and OKTA_CLIENT_SECRET
		a.fail(w, r, http.StatusBadGateway, err, pageMisconfigured)
	case errors.As(err, &te):
		ev(slog.LevelWarn, audit.EventLoginFailed)
		a.fail(w, r, http.StatusBadRequest, err, pageLoginExpired)
	case errors.As(err, &ue):
		// Required userinfo failed after a good exchange: signing in again
		// may well work, so a 4xx page offers it.
		ev(slog.LevelWarn, audit.EventLoginFailed)
		a.fail(w, r, http.StatusBadRequest, err, pageUserInfoFailed)
	case errors.As(err, &me):
		reason = audit.ReasonMembershipUnavailable
		ev(slog.LevelWarn, audit.EventLoginFailed)
		a.fail(w, r, http.StatusServiceUnavailable, err, pageUnavailable)
	case errors.Is(err, ErrProviderUnavailable):
		ev(slog.LevelWarn, audit.EventLoginFailed)
		a.fail(w, r, http.StatusBadGateway, err, pageUnavailable)
	case errors.Is(err, ErrInvalidToken):
		ev(slog.LevelWarn, audit.EventLoginFailed)
		a.fail(w, r, http.StatusBadRequest, err, pageBadToken)
	case errors.As(err, &oe), errors.Is(err, ErrAccessDenied):
		ev(slog.LevelInfo, audit.EventLoginRefused)
		a.fail(w, r, http.StatusForbidden, err, pageRefused)
	default:
		reason = audit.ReasonInternal
		ev(slog.LevelError, audit.EventLoginFailed)
		a.fail(w, r, http.StatusInternalServerError, err, pageLoginFailed)
	}
}

// firstUse records that a flow's state is consumed and reports whether it
// was the first time: in the Store when it can do so atomically (so a
// callback replayed to another instance is refused too), else in this
// process.
func (a *Auth) firstUse(ctx context.Context, state string, until time.Time) bool {
	if ls, ok := a.cfg.Store.(store.LockStore); ok {
		sum := sha256.Sum256([]byte(state))
		ttl := max(until.Sub(a.now()), time.Second)
		first, err := ls.TryLock(ctx, "st:"+base64.RawURLEncoding.EncodeToString(sum[:]), "1", ttl)
		if err == nil {
			return first
		}
		a.cfg.Logger.Warn("oktasso: recording a used state in the store failed; using this process's memory", "err", err.Error())
	}
	return a.used.add(state, until, a.now())
}

// usedStates remembers consumed states until their flows would have expired,
// so a replayed callback is refused even if its flow cookie was kept.
type usedStates struct {
	mu  sync.Mutex
	max int
	m   map[string]time.Time
}

func newUsedStates(max int) *usedStates {
	return &usedStates{max: max, m: make(map[string]time.Time)}
}

// add records state and reports whether it was new.
func (u *usedStates) add(state string, until, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if _, ok := u.m[state]; ok {
		return false
	}
	if len(u.m) >= u.max {
		for k, t := range u.m {
			if t.Before(now) || len(u.m) >= u.max {
				delete(u.m, k)
			}
		}
	}
	u.m[state] = until
	return true
}
