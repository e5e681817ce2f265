package oktasso

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oktasso/oktasso/store"
)

// Store keys. Every id in them is random (session ids) or comes from a
// verified token or call (sid, sub, email); none comes from a request
// unauthenticated, except the sid of a front-channel logout (see
// frontchannelMarks).
func keySession(id string) string { return "s:" + id }  // a session kept in the store
func keyRevoked(id string) string { return "rv:" + id } // an ended session
func keyFresh(id string) string   { return "fr:" + id } // the latest refreshed version
func keyLock(id string) string    { return "lk:" + id } // the refresh lock

// Not-before marks: written when sessions end, read by every session's
// revocation check, so a sign-in writes nothing to the store that lives
// as long as its session. A mark's value is a time (unix seconds): the
// sessions it covers that signed in at or before it have ended. Their keys
// start with markPrefix, a short digest of the application and issuer
// (every session of an Auth has its issuer), so that the check hashes
// short keys.
const (
	markUser  = "u:" // + the user's sub
	markSID   = "s:" // + the provider session's sid
	markEmail = "e:" // + the verified email, in lower case
)

// markPrefix is "nb:" and 16 characters of a digest of the application's
// index part and the issuer.
func markPrefix(app, iss string) string {
	sum := sha256.Sum256([]byte(app + "\x00" + iss))
	return "nb:" + base64.RawURLEncoding.EncodeToString(sum[:12]) + ":"
}

// markKey is the key of a not-before mark of kind (markUser, markSID,
// markEmail) for id.
func (a *Auth) markKey(kind, id string) string { return a.marks + kind + id }

// The index of the sessions that keep data in the store (SessionInStore,
// refreshed tokens), by user and by verified email, so that ending a
// user's sessions deletes that data too. The logout indexes are per
// application (client ID and cookie name), so one app's logout never ends
// another's sessions in a shared store.
//
// Releases up to 0.1 indexed every session under keyBySub and keyBySID
// (and, before per-application keys, under app ""): logout by user or sid
// still ends the sessions found there, until those sessions expire.
func keyBySub(app, iss, sub string) string { return "ix:sub:" + app + iss + "|" + sub }
func keyBySID(app, iss, sid string) string { return "ix:sid:" + app + iss + "|" + sid }
func keyByEmail(app, email string) string  { return "ix:em:" + app + email }

// indexApp is this application's part of the logout index keys.
func (a *Auth) indexApp() string { return a.cfg.Client.ID + "|" + a.cookies.prefix + "|" }

// storeSealName binds sealed session values in the store to their use, so
// they cannot be presented as cookies.
const storeSealName = "oktasso-store"

// loadSession reads the request's session and its user: the cookie
// (reassembled from its chunks), then, for a stub, the data from the store.
// Missing, tampered, expired, revoked or foreign sessions are nil. rewrite
// reports that the cookie was sealed with an older key or format and should
// be written again.
//
// A verified single-cookie value is cached (Config.Session.CacheSize): a
// repeat request with the exact same value skips decryption, but its
// lifetime is checked again and its revocation too (in the Store, or at
// most every Config.Session.RevocationCacheTTL). The session and user returned may
// be the cached ones: read-only.
func (a *Auth) loadSession(ctx context.Context, r *http.Request) (s *session, u *User, rewrite bool) {
	return a.loadSessionAt(ctx, r, a.now())
}

// loadSessionAt is loadSession with the request's time already read.
func (a *Auth) loadSessionAt(ctx context.Context, r *http.Request, now time.Time) (s *session, u *User, rewrite bool) {
	v, n := a.cookies.readChunks(r)
	if n == 0 {
		return nil, nil, false
	}
	if e := a.cache.get(v); e != nil {
		if !e.s.valid(now, a.cfg.Session.IdleTimeout) || a.revokedEntry(ctx, e, now) {
			a.cache.remove(v, e)
			return nil, nil, false
		}
		return e.s, e.u, !e.newest
	}
	gen := a.cache.generation()
	s, rewrite = a.decodeSession(ctx, v, n, false)
	if s == nil || !s.valid(now, a.cfg.Session.IdleTimeout) {
		return nil, nil, false
	}
	keys := a.revocationKeys(s)
	if a.revokedBy(ctx, keys.keys(), s.Created) {
		return nil, nil, false
	}
	if s.Ref {
		return s, s.user(), rewrite
	}
	u = s.user()
	if n == 1 && a.cache != nil {
		// The cache keeps its own copy of v, a slice of the request's
		// Cookie header, and the session's still-sealed ID token (v's
		// tail) moves to that copy, so the entry holds no header.
		v = strings.Clone(v)
		if s.idSealed != "" {
			s.idSealed = v[len(v)-len(s.idSealed):]
		}
		a.cache.add(v, s, u, keys, !rewrite, gen, now.UnixNano())
	}
	return s, u, rewrite
}

// peekSession decodes the request's session, its ID token included,
// without checking its lifetime or revocation (sign-out still wants the ID
// token of an expired session).
func (a *Auth) peekSession(ctx context.Context, r *http.Request) (*session, bool) {
	v, n := a.cookies.readChunks(r)
	if n == 0 {
		return nil, false
	}
	return a.decodeSession(ctx, v, n, true)
}

// decodeSession opens a session cookie value that spanned n cookies and,
// for a stub, reads the session's data from the store. With idToken false
// the ID token may stay sealed (see cookies.openSessionHot).
func (a *Auth) decodeSession(ctx context.Context, v string, n int, idToken bool) (*session, bool) {
	cs, newest, err := a.cookies.openSessionPart(a.cookies.sessionName(), v, idToken)
	if err != nil || cs.V != sessionModelVersion || cs.Issuer != a.provider.issuer || cs.ID == "" {
		return nil, false
	}
	cs.chunks = n
	if !cs.Ref {
		return cs, !newest
	}
	data, err := a.cfg.Store.Get(ctx, keySession(cs.ID))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			a.cfg.Logger.Error("oktasso: reading a session from the store failed", "err", err.Error())
		}
		return nil, false
	}
	full, dataNewest, err := a.cookies.openSessionPart(storeSealName, string(data), idToken)
	if err != nil || full.ID != cs.ID {
		return nil, false
	}
	full.Ref, full.Seen, full.Expires, full.chunks = true, cs.Seen, min(cs.Expires, full.Expires), n
	return full, !newest || !dataNewest
}

// revoked reports whether the session id was ended by its own mark
// (sign-out, a failed refresh, the end of its stored data). A store that
// cannot answer counts as revoked: failing closed.
func (a *Auth) revoked(ctx context.Context, id string) bool {
	_, err := a.cfg.Store.Get(ctx, keyRevoked(id))
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	if err != nil {
		a.cfg.Logger.Error("oktasso: checking session revocation failed; treating the session as ended", "err", err.Error())
	}
	return true
}

// revKeys are the keys the revocation check of a session reads
// (Auth.revocationKeys): its own mark (always first), then the not-before
// marks of its user, of its provider session and of its verified email.
// They are substrings of one string, so building them costs one
// allocation, and the array keeps them without a slice of their own.
type revKeys struct {
	k [4]string
	n int
}

// keys returns the keys in order.
func (r *revKeys) keys() []string { return r.k[:r.n] }

// revocationKeys returns the revKeys of s: "rv:"+ID, then markKey(markUser,
// Subject), markKey(markSID, SID) when there is one and markKey(markEmail,
// the lower-case email) when it is verified, written into one buffer.
func (a *Auth) revocationKeys(s *session) revKeys {
	email, lower := "", true
	if s.Verified && s.Email != "" {
		email = s.Email
		if ascii, upper := asciiCase(email); !ascii {
			email = strings.ToLower(email) // the key endEmail writes
		} else {
			lower = !upper
		}
	}
	size := len("rv:") + len(s.ID) + len(a.marks) + len(markUser) + len(s.Subject)
	if s.SID != "" {
		size += len(a.marks) + len(markSID) + len(s.SID)
	}
	if email != "" {
		size += len(a.marks) + len(markEmail) + len(email)
	}
	var b strings.Builder
	b.Grow(size)
	var ends [4]int
	b.WriteString("rv:")
	b.WriteString(s.ID)
	ends[0] = b.Len()
	b.WriteString(a.marks)
	b.WriteString(markUser)
	b.WriteString(s.Subject)
	ends[1] = b.Len()
	n := 2
	if s.SID != "" {
		b.WriteString(a.marks)
		b.WriteString(markSID)
		b.WriteString(s.SID)
		ends[n] = b.Len()
		n++
	}
	if email != "" {
		b.WriteString(a.marks)
		b.WriteString(markEmail)
		if lower {
			b.WriteString(email)
		} else {
			for i := 0; i < len(email); i++ { // strings.ToLower, for ASCII
				c := email[i]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				b.WriteByte(c)
			}
		}
		ends[n] = b.Len()
		n++
	}
	all := b.String()
	rk := revKeys{n: n}
	start := 0
	for i := range n {
		rk.k[i], start = all[start:ends[i]], ends[i]
	}
	return rk
}

// asciiCase reports whether s is ASCII only and whether it has upper-case
// letters.
func asciiCase(s string) (ascii, upper bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0x80:
			return false, upper
		case 'A' <= c && c <= 'Z':
			upper = true
		}
	}
	return true, upper
}

// markScratch holds the keys and values one revocation check passes to a
// Store other than Memory, reused so that the check allocates nothing when
// no mark exists.
type markScratch struct {
	keys [4]string
	vals [4][]byte
}

var markScratches = sync.Pool{New: func() any { return new(markScratch) }}

// revokedBy is the revocation check of a session signed in at created
// (unix seconds) whose revocationKeys are keys: it ended if its own mark
// exists or a not-before mark is at or after created. One store read
// (store.MultiGetStore), else one Get per key. A store that cannot answer
// counts as ended: failing closed. keys do not escape: the caller's
// revKeys may live on its stack.
func (a *Auth) revokedBy(ctx context.Context, keys []string, created int64) bool {
	var err error
	if a.mem != nil { // the default store: its values stay on this stack
		var buf [4][]byte
		vals := buf[:len(keys)]
		err = a.mem.GetMulti(ctx, keys, vals)
		return a.ended(vals, created, err)
	}
	sc := markScratches.Get().(*markScratch)
	defer markScratches.Put(sc)
	ks, vals := sc.keys[:copy(sc.keys[:], keys)], sc.vals[:len(keys)]
	defer clear(ks)
	defer clear(vals)
	if a.multi != nil {
		err = a.multi.GetMulti(ctx, ks, vals)
	} else {
		for i, k := range ks {
			var v []byte
			v, err = a.cfg.Store.Get(ctx, k)
			if errors.Is(err, store.ErrNotFound) {
				v, err = nil, nil
			} else if err == nil && v == nil {
				v = []byte{}
			}
			if err != nil {
				break
			}
			vals[i] = v
		}
	}
	return a.ended(vals, created, err)
}

// ended decides revokedBy on the values read (or the error).
func (a *Auth) ended(vals [][]byte, created int64, err error) bool {
	if err != nil {
		a.cfg.Logger.Error("oktasso: checking session revocation failed; treating the session as ended", "err", err.Error())
		return true
	}
	if vals[0] != nil {
		return true
	}
	for _, v := range vals[1:] {
		if v != nil && markTime(v) >= created {
			return true
		}
	}
	return false
}

// markTime reads a not-before mark's time; a mark it cannot read covers
// every session.
func markTime(v []byte) int64 {
	if len(v) == 0 || len(v) > 18 {
		return math.MaxInt64
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return math.MaxInt64
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// revokedEntry is revokedBy for a cached session: the Store is asked
// unless it said "not revoked" less than Config.Session.RevocationCacheTTL
// ago.
func (a *Auth) revokedEntry(ctx context.Context, e *cacheEntry, now time.Time) bool {
	if ttl := a.cfg.Session.RevocationCacheTTL; ttl > 0 && now.UnixNano()-e.checked.Load() < int64(ttl) {
		return false
	}
	if a.revokedBy(ctx, e.revKeys.keys(), e.s.Created) {
		return true
	}
	e.checked.Store(now.UnixNano())
	return false
}

// saveSession writes s: as cookies (chunked when needed), or in the store
// with a stub in the cookie (SessionInStore, a session already kept
// there, or one too large for its cookies with SessionInStoreWhenLarge).
// data=false means only the cookie-held timestamps changed. s must not be
// one loadSession returned (it sets s.Ref): save a copy.
func (a *Auth) saveSession(ctx context.Context, w http.ResponseWriter, s *session, data bool) error {
	now := a.now()
	ttl := time.Unix(s.Expires, 0).Sub(now)
	if ttl <= 0 {
		a.cookies.clearChunks(w)
		return nil
	}
	if a.cfg.Session.Storage != SessionInStore && !s.Ref {
		err := a.cookies.writeSession(w, s, ttl, s.chunks)
		if !errors.Is(err, errSessionTooLarge) || a.cfg.Session.Storage != SessionInStoreWhenLarge {
			return err
		}
		data = true
	}
	s.Ref = true
	if data {
		// A session ended while this request ran (sign-out, back-channel
		// logout) must not be written back: for stored sessions the
		// missing data is what ends them.
		if a.revoked(ctx, s.ID) {
			return errSessionRevoked
		}
		full := *s
		full.Ref = false
		v := a.cookies.sealSession(storeSealName, &full)
		if err := a.cfg.Store.Set(ctx, keySession(s.ID), []byte(v), ttl); err != nil {
			return fmt.Errorf("oktasso: saving the session in the store: %w", err)
		}
		a.indexStored(ctx, s, ttl)
	}
	v := a.cookies.sealSession(a.cookies.sessionName(), s.stub())
	return a.cookies.writeChunks(w, v, ttl, s.chunks)
}

// issueSession writes a new session after a sign-in. A session too large for its cookies (and not allowed in the
// store) first loses the raw ID token (sign-out then ends only the local
// session), then the groups no policy of this app names; each step is
// logged with the claim that bloats it.
func (a *Auth) issueSession(ctx context.Context, w http.ResponseWriter, s *session) error {
	return a.fitSession(ctx, w, s)
}

// fitSession saves a session's data, shrinking it step by step when it is
// too large for its cookies (see issueSession).
func (a *Auth) fitSession(ctx context.Context, w http.ResponseWriter, s *session) error {
	err := a.saveSession(ctx, w, s, true)
	if errors.Is(err, errSessionTooLarge) && s.hasIDToken() {
		a.cfg.Logger.Warn("oktasso: session too large for its cookies; dropping the ID token, so sign-out will not end the Okta session (set Session.Storage to SessionInStoreWhenLarge to keep it)",
			"subject", s.Subject, "largest_claim", largestClaim(s))
		s.dropIDToken()
		err = a.saveSession(ctx, w, s, true)
	}
	if errors.Is(err, errSessionTooLarge) {
		var kept []string
		for _, g := range s.Groups {
			if a.namedGroup(g) {
				kept = append(kept, g)
			}
		}
		a.cfg.Logger.Warn("oktasso: the groups claim makes the session too large; keeping only the groups this app's policy names (filter the groups claim in Okta, or set Session.Storage to SessionInStoreWhenLarge)",
			"subject", s.Subject, "groups", len(s.Groups), "kept", len(kept))
		s.Groups = kept
		err = a.saveSession(ctx, w, s, true)
	}
	if err != nil && !errors.Is(err, errSessionRevoked) {
		a.cfg.Logger.Error("oktasso: could not write the session", "subject", s.Subject, "largest_claim", largestClaim(s), "err", err.Error())
	}
	return err
}

// largestClaim names the part of a session that takes the most room.
func largestClaim(s *session) string {
	sizes := map[string]int{"id_token": len(s.IDToken) + len(s.idSealed), "access_token": len(s.AccessToken), "refresh_token": len(s.RefreshToken), "name": len(s.Name) + len(s.Email) + len(s.Username)}
	for _, g := range s.Groups {
		sizes["groups"] += len(g) + 3
	}
	best, n := "", -1
	for k, v := range sizes {
		if v > n || (v == n && k < best) {
			best, n = k, v
		}
	}
	return fmt.Sprintf("%s (%d bytes)", best, n)
}

// indexStored records a session whose data is in the store (s:, fr:)
// under its user and verified email, so that ending them deletes that data
// (see endUser). Cookie sessions are not indexed: marks end them.
func (a *Auth) indexStored(ctx context.Context, s *session, ttl time.Duration) {
	ss, ok := a.cfg.Store.(store.SetStore)
	if !ok || ttl <= 0 {
		return
	}
	app := a.indexApp()
	if err := ss.AddToSet(ctx, keyBySub(app, s.Issuer, s.Subject), s.ID, ttl); err != nil {
		a.cfg.Logger.Error("oktasso: indexing a stored session failed", "err", err.Error())
	}
	if s.Verified && s.Email != "" {
		if err := ss.AddToSet(ctx, keyByEmail(app, strings.ToLower(s.Email)), s.ID, ttl); err != nil {
			a.cfg.Logger.Error("oktasso: indexing a stored session failed", "err", err.Error())
		}
	}
}

// writeMark writes the not-before mark key: the sessions it covers that
// signed in until now end. It lasts as long as any such session could.
func (a *Auth) writeMark(ctx context.Context, key string) error {
	return a.cfg.Store.Set(ctx, key, strconv.AppendInt(nil, a.now().Unix(), 10), a.cfg.Session.MaxAge+time.Minute)
}

// endUser ends every session of the user (iss, sub), the configured
// issuer's: a mark for cookie sessions, on every instance sharing the
// store; stored sessions and refreshed tokens deleted; this process's
// cache purged. Nothing has changed when the mark cannot be written.
func (a *Auth) endUser(ctx context.Context, iss, sub string) (int, error) {
	if err := a.writeMark(ctx, a.markKey(markUser, sub)); err != nil {
		return 0, err
	}
	a.cache.purgeWhere(func(s *session) bool { return s.Subject == sub && s.Issuer == iss })
	return a.endIndexedAll(ctx, func(app string) string { return keyBySub(app, iss, sub) })
}

// endEmail ends every session whose user has the verified email, as
// endUser does.
func (a *Auth) endEmail(ctx context.Context, email string) (int, error) {
	email = strings.ToLower(email)
	if err := a.writeMark(ctx, a.markKey(markEmail, email)); err != nil {
		return 0, err
	}
	a.cache.purgeWhere(func(s *session) bool { return s.Verified && strings.EqualFold(s.Email, email) })
	return a.endIndexed(ctx, keyByEmail(a.indexApp(), email))
}

// endSID ends the sessions of a provider session (iss, sid), as endUser
// does.
func (a *Auth) endSID(ctx context.Context, iss, sid string) (int, error) {
	if err := a.writeMark(ctx, a.markKey(markSID, sid)); err != nil {
		return 0, err
	}
	a.cache.purgeWhere(func(s *session) bool { return s.SID == sid && s.Issuer == iss })
	return a.endIndexedAll(ctx, func(app string) string { return keyBySID(app, iss, sid) })
}

// endSessions ends sessions by id for good: a revocation marker outlives
// any cookie of theirs, and their stored data and refreshed versions go.
func (a *Auth) endSessions(ctx context.Context, ids ...string) error {
	// Purge the cache after the markers are written: a load that cached a
	// session after the purge checked revocation after the markers too,
	// and one whose check came before is voided by the purge.
	defer a.cache.purge(ids...)
	var errs []error
	for _, id := range ids {
		if err := a.cfg.Store.Set(ctx, keyRevoked(id), []byte{1}, a.cfg.Session.MaxAge+time.Minute); err != nil {
			errs = append(errs, err)
		}
		if err := a.cfg.Store.Delete(ctx, keySession(id), keyFresh(id)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// endIndexedAll ends the sessions under an index key of this application
// and under the same key in the format before per-application keys (see
// keyBySub).
func (a *Auth) endIndexedAll(ctx context.Context, key func(app string) string) (int, error) {
	n, err := a.endIndexed(ctx, key(a.indexApp()))
	if err != nil {
		return n, err
	}
	m, err := a.endIndexed(ctx, key(""))
	return n + m, err
}

// endIndexed ends every session recorded under an index key and reports
// how many there were.
func (a *Auth) endIndexed(ctx context.Context, key string) (int, error) {
	ss, ok := a.cfg.Store.(store.SetStore)
	if !ok {
		return 0, nil // nothing indexed; marks end the sessions
	}
	ids, err := ss.Members(ctx, key)
	if err != nil {
		return 0, err
	}
	if err := a.endSessions(ctx, ids...); err != nil {
		return 0, err
	}
	return len(ids), ss.Delete(ctx, key)
}
