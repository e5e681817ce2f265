package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/oktasso/oktasso"
	"github.com/oktasso/oktasso/directory"
	"github.com/oktasso/oktasso/internal/issuer"
)

// Variables sync reads (besides OKTA_DOMAIN, OKTA_PRIVATE_KEY and
// OKTA_PRIVATE_KEY_ID).
const (
	envAPIToken = "OKTA_API_TOKEN"
	envClientID = "OKTA_CLIENT_ID"
	// --end-sessions reads the app's issuer as oktasso.ConfigFromEnv does.
	envIssuer       = "OKTA_ISSUER"
	envOAuth2Issuer = "OKTA_OAUTH2_ISSUER"
	envAuthServerID = "OKTA_AUTH_SERVER_ID"
)

// progressEvery is how often progress is shown.
const progressEvery = 5 * time.Second

type syncOptions struct {
	domain, clientID, privateKey, keyID, apiToken string
	out, state, issuer                            string
	dryRun, full, json, verbose, noDPoP           bool
	endSessions                                   bool
	maxDeactivate, pageSize                       int
	fullEvery                                     time.Duration
}

func syncFlags(o *syncOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	fs.StringVar(&o.out, "out", "", "append the changes to `FILE` as JSON lines (the CLI's stand-in for an app's database)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "print the plan; change nothing, not even the state")
	fs.StringVar(&o.state, "state", "sync-state.json", "the state `FILE`: watermark, known ids, checkpoint of an unfinished run")
	fs.BoolVar(&o.full, "full", false, "a full reconciliation now (finds users and groups deleted from Okta)")
	fs.DurationVar(&o.fullEvery, "full-every", directory.DefaultFullEvery, "how often a run is full")
	fs.IntVar(&o.maxDeactivate, "max-deactivate", 0, "most users one run may deactivate (and groups it may delete); 0: 5% of the known ones, at least 10")
	fs.BoolVar(&o.json, "json", false, "print the summary as JSON")
	fs.BoolVar(&o.verbose, "v", false, "debug logging on stderr")
	fs.StringVar(&o.domain, "domain", "", "Okta `domain` or org URL (default $"+"OKTA_DOMAIN"+")")
	fs.StringVar(&o.clientID, "client-id", "", "client ID of the API Services app (default $"+envClientID+")")
	fs.StringVar(&o.privateKey, "private-key", "", "the app's private key: a `FILE` (PEM or JWK); default $"+envPrivateKey)
	fs.StringVar(&o.keyID, "key-id", "", "the key's id in Okta (default $"+envPrivateKeyID+", else the JWK's kid or the key's thumbprint)")
	fs.StringVar(&o.apiToken, "api-token-file", "", "read an SSWS API token from `FILE` instead of a service app (default $"+envAPIToken+")")
	fs.IntVar(&o.pageSize, "page-size", 0, "users and groups per page (default and most: Okta's 200)")
	fs.BoolVar(&o.noDPoP, "insecure-no-dpop", false, "do not use DPoP (only for apps that refuse it: tokens become replayable bearer tokens)")
	fs.BoolVar(&o.endSessions, "end-sessions", false, "also write an end_sessions change for each user who becomes SUSPENDED or DEPROVISIONED or is deleted, for the app to end their sessions")
	fs.StringVar(&o.issuer, "issuer", "", "with --end-sessions: the issuer `URL` of the app's sign-ins (default $"+envIssuer+", else derived from the domain and $"+envAuthServerID+" as the app does)")
	return fs
}

func syncCommand() *command {
	return &command{
		name:    "sync",
		summary: "read Okta's users, groups and memberships; write the changes or print the plan",
		usage:   "oktasso sync (--out FILE | --dry-run) [--state FILE] [--full] [--json] [--max-deactivate N] [--end-sessions] [flags]",
		about: `
Sync reads the org's users, groups and memberships through the Management
API, as an API Services app (private_key_jwt and DPoP; scopes
okta.users.read okta.groups.read; an admin role) or with an SSWS API token,
and appends each change to the --out file as a JSON line: upsert_user,
deactivate_user, upsert_group, set_members, delete_group. With --dry-run it
prints the plan and changes nothing.

The first run, and then one run a day (--full-every), is full: it reads
everything and finds users and groups deleted from Okta. Other runs read
what changed since the last one (the state file). Each page of changes is
written and fsynced before the state counts it. A run that fails (a full
disk) or is interrupted saves where it was; the next one cuts from --out
what the state does not count and resumes there, so nothing is lost or
written twice. More than --max-deactivate deactivations in one run are
withheld, and sync fails.

With --end-sessions it also writes an end_sessions change, with the app's
issuer, for each user who becomes SUSPENDED or DEPROVISIONED or is deleted
(the first such run: for every user already so). The CLI cannot reach the
app's session store: the app applies each line with its Auth's
EndSessions(ctx, issuer, id), as it applies deactivate_user.

On a terminal it shows a progress line; otherwise it logs progress every 5 s
on stderr. A summary ends the run (--json: one JSON object).`,
		vars: `
OKTA_DOMAIN          the Okta domain, e.g. dev-123.okta.com (--domain)
OKTA_CLIENT_ID       the API Services app's client ID (--client-id)
OKTA_PRIVATE_KEY     its private key: PEM, JWK or a file path (--private-key); see oktasso keygen --jwk
OKTA_PRIVATE_KEY_ID  the key's id in Okta (--key-id)
OKTA_API_TOKEN       an SSWS API token, instead of the three above (--api-token-file)
OKTA_ISSUER          with --end-sessions, the app's issuer (--issuer); else OKTA_OAUTH2_ISSUER,
                     else the domain's org server, or OKTA_AUTH_SERVER_ID's custom server`,
		example: `
oktasso sync --dry-run
oktasso sync --out accounts.jsonl --state sync-state.json
oktasso sync --out accounts.jsonl --full --json
oktasso sync --out accounts.jsonl --end-sessions`,
		flags: func() *flag.FlagSet { return syncFlags(&syncOptions{}) },
		run:   (*app).runSync,
	}
}

func (a *app) runSync(ctx context.Context, args []string) int {
	var o syncOptions
	c := syncCommand()
	if code, done := a.parseFlags(c, syncFlags(&o), args); done {
		return code
	}
	if (o.out == "") == !o.dryRun {
		fmt.Fprintln(a.stderr, `oktasso sync: pass either --out FILE or --dry-run — fix: add --dry-run to print the plan, or --out FILE to write the changes; run "oktasso help sync"`)
		return exitUsage
	}
	failf := a.syncFailf
	cfg, client, ok := a.syncClient(o)
	if !ok {
		return exitFail
	}
	opts, ok := a.syncRunOptions(o)
	if !ok {
		return exitFail
	}
	var sink directory.Sink = discardSink{}
	var out *jsonlSink
	if o.dryRun {
		opts.OnChange = func(ch directory.Change) { fmt.Fprintln(a.stdout, planLine(ch)) }
	} else {
		open := a.openOut
		if open == nil {
			open = openOutFile
		}
		f, err := open(o.out)
		if err != nil {
			return failf("%s — fix: pass --out with a writable path", errText(err))
		}
		defer f.Close()
		if out, err = newJSONLSink(ctx, f, o.out, opts.State, cfg.Logger); err != nil {
			return failf("%s", syncError(err))
		}
		sink = out
		if o.endSessions {
			opts.EndSessions = out
		}
	}
	p := a.newProgress(o, cfg.Logger)
	opts.Progress = p.show

	sum, err := directory.Sync(ctx, client, sink, opts)
	p.done()
	if err != nil && out != nil {
		out.cut()
	}
	a.printSummary(o, cfg.OrgURL, sum, err)
	if err != nil {
		return exitFail
	}
	return exitOK
}

// syncFailf prints "oktasso sync: " and the formatted message on stderr,
// and returns exitFail.
func (a *app) syncFailf(format string, args ...any) int {
	fmt.Fprintf(a.stderr, "oktasso sync: "+format+"\n", args...)
	return exitFail
}

// syncClient builds the client configuration from the flags and the
// environment, and the directory client from it. It reports false, having
// said why on stderr, when either is wrong.
func (a *app) syncClient(o syncOptions) (directory.Config, *directory.Client, bool) {
	cfg, err := a.syncConfig(o)
	if err != nil {
		a.syncFailf("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
		return cfg, nil, false
	}
	client, err := directory.New(cfg)
	if err != nil {
		for _, l := range syncConfigLines(err) {
			a.syncFailf("%s", l)
		}
		return cfg, nil, false
	}
	return cfg, client, true
}

// syncRunOptions returns the sync's options from the flags, with the
// session issuer when --end-sessions asks for end_sessions lines. It
// reports false, having said why on stderr, when there is no issuer.
func (a *app) syncRunOptions(o syncOptions) (directory.SyncOptions, bool) {
	opts := directory.SyncOptions{
		State: directory.FileState(o.state), Full: o.full, FullEvery: o.fullEvery,
		MaxDeactivate: o.maxDeactivate, DryRun: o.dryRun,
	}
	if o.endSessions {
		var err error
		if opts.SessionIssuer, err = a.sessionIssuer(o); err != nil {
			a.syncFailf("--end-sessions: %s", errText(err))
			return opts, false
		}
		opts.EndSessions = discardSink{} // a dry run calls nothing
	}
	return opts, true
}

// syncConfig builds the client configuration from the flags and the
// environment; flags win.
func (a *app) syncConfig(o syncOptions) (directory.Config, error) {
	pick := func(flagValue, env string) string {
		if flagValue != "" {
			return flagValue
		}
		v, _ := a.lookup(env)
		return strings.TrimSpace(v)
	}
	cfg := directory.Config{
		OrgURL: pick(o.domain, "OKTA_DOMAIN"), ClientID: pick(o.clientID, envClientID),
		PrivateKey: oktasso.Secret(pick(o.privateKey, envPrivateKey)), KeyID: pick(o.keyID, envPrivateKeyID),
		HTTPClient: a.client, Now: a.now, PageSize: o.pageSize, InsecureNoDPoP: o.noDPoP,
	}
	if o.apiToken != "" {
		b, err := os.ReadFile(o.apiToken)
		if err != nil {
			return cfg, fmt.Errorf("--api-token-file: %s — fix: pass a readable file holding the token, or set OKTA_API_TOKEN", errText(err))
		}
		cfg.APIToken = oktasso.Secret(strings.TrimSpace(string(b)))
	} else {
		cfg.APIToken = oktasso.Secret(pick("", envAPIToken))
	}
	if cfg.APIToken != "" && cfg.PrivateKey == "" {
		cfg.ClientID = "" // OKTA_CLIENT_ID may be the web app's
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	cfg.Logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	return cfg, nil
}

// planLine is one line of a dry run's plan.
func planLine(ch directory.Change) string {
	switch {
	case ch.User != nil:
		return fmt.Sprintf("upsert user  %s %s (%s)", ch.User.ID, ch.User.Login, ch.User.Status)
	case ch.Group != nil:
		return fmt.Sprintf("upsert group %s %q", ch.Group.ID, ch.Group.Name)
	case ch.Op == "deactivate_user":
		return fmt.Sprintf("deactivate   %s (%s)", ch.ID, ch.Reason)
	case ch.Op == "set_members":
		return fmt.Sprintf("set members  %s: %d", ch.ID, len(ch.Members))
	case ch.Op == "end_sessions":
		return fmt.Sprintf("end sessions %s (%s)", ch.ID, ch.Reason)
	}
	return fmt.Sprintf("%-12s %s", strings.ReplaceAll(ch.Op, "_", " "), ch.ID)
}

// outFile is sync's --out file: an *os.File, or in tests one whose writes
// fail.
type outFile interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
	Close() error
}

// openOutFile opens the --out file to append to it, creating it (0600).
func openOutFile(name string) (outFile, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
}

// jsonlSink appends each change to the --out file as a JSON line. It is a
// directory.Flusher: Sync flushes it, and fsyncs the file, after every page
// and before it saves the final state; the mark it keeps in the state is
// the file's length then, with its absolute path. A --out that is not a
// regular file (a pipe, /dev/stdout) is flushed but neither fsynced nor
// cut, and has no mark.
type jsonlSink struct {
	f       outFile
	path    string // absolute
	regular bool   // f is a regular file
	w       *bufio.Writer
	err     error // the first write error: the sink writes no more
	dirty   bool  // written to since the last fsync
	durable int64 // the file's length at the last flush
}

// newJSONLSink returns the sink appending to f, which is path, after
// cutting from it what the state does not count (see rewind).
func newJSONLSink(ctx context.Context, f outFile, path string, state directory.StateStore, log *slog.Logger) (*jsonlSink, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	s := &jsonlSink{f: f, path: abs, w: bufio.NewWriterSize(f, 64<<10)}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	s.durable, s.regular = fi.Size(), fi.Mode().IsRegular()
	if !s.regular {
		return s, nil
	}
	if st, err := state.Load(ctx); err == nil { // else Sync reports it
		err = s.rewind(st.SinkMark, log)
		if err != nil {
			return nil, fmt.Errorf("cutting %s back to what the state counts: %w", path, err)
		}
	}
	return s, nil
}

// outMark is the sink's mark: the file's length and its path.
func outMark(size int64, path string) string {
	return strconv.FormatInt(size, 10) + " " + path
}

// rewind cuts the file back to the length in mark, if mark is this file's
// and the file is longer. What follows it are lines of a run that stopped
// before it could save a state counting them (a full disk, a crash): this
// run writes them again.
func (s *jsonlSink) rewind(mark string, log *slog.Logger) error {
	size, path, ok := strings.Cut(mark, " ")
	n, err := strconv.ParseInt(size, 10, 64)
	if !ok || err != nil || path != s.path || n < 0 || n >= s.durable {
		return nil
	}
	if err := s.f.Truncate(n); err != nil {
		return err
	}
	log.Info("oktasso sync: removed the changes of an unfinished run from --out; this run writes them again", "out", s.path, "bytes", s.durable-n)
	s.durable = n
	return nil
}

// cut truncates the file to its length at the last flush, so that after a
// failed run it ends with a whole line that the saved state counts.
func (s *jsonlSink) cut() {
	if fi, err := s.f.Stat(); err == nil && s.regular && fi.Size() > s.durable {
		s.f.Truncate(s.durable)
	}
}

func (s *jsonlSink) write(ch directory.Change) error {
	if s.err != nil {
		return s.err
	}
	b, err := json.Marshal(ch)
	if err != nil {
		return err
	}
	s.dirty = true
	_, s.err = s.w.Write(append(b, '\n'))
	return s.err
}

// Flush writes the buffered lines, fsyncs the file and returns its mark.
func (s *jsonlSink) Flush(context.Context) (string, error) {
	if s.err == nil && !s.regular {
		s.err = s.w.Flush()
		return "", s.err
	}
	if s.err == nil && s.dirty {
		s.err = s.w.Flush()
		if s.err == nil {
			s.err = s.f.Sync()
		}
		var fi os.FileInfo
		if s.err == nil {
			fi, s.err = s.f.Stat()
		}
		if s.err == nil {
			s.durable, s.dirty = fi.Size(), false
		}
	}
	if s.err != nil {
		return "", s.err
	}
	return outMark(s.durable, s.path), nil
}

func (s *jsonlSink) UpsertUser(_ context.Context, u directory.User) error {
	u.Profile = nil // the fields are enough for the file
	return s.write(directory.Change{Op: "upsert_user", User: &u})
}

func (s *jsonlSink) DeactivateUser(_ context.Context, id string, r directory.Reason) error {
	return s.write(directory.Change{Op: "deactivate_user", ID: id, Reason: r})
}

func (s *jsonlSink) UpsertGroup(_ context.Context, g directory.Group) error {
	return s.write(directory.Change{Op: "upsert_group", Group: &g})
}

func (s *jsonlSink) SetMembers(_ context.Context, id string, users []string) error {
	if users == nil {
		users = []string{}
	}
	return s.write(directory.Change{Op: "set_members", ID: id, Members: users})
}

func (s *jsonlSink) DeleteGroup(_ context.Context, id string) error {
	return s.write(directory.Change{Op: "delete_group", ID: id})
}

// EndSessions makes the sink sync's directory.SessionEnder with
// --end-sessions: it writes an end_sessions change, which the app applies
// with its Auth's EndSessions. Sync calls it before the page's flush, so
// the line is as durable as the page's others.
func (s *jsonlSink) EndSessions(_ context.Context, iss, subject string) error {
	return s.write(directory.Change{Op: "end_sessions", ID: subject, Issuer: iss})
}

// discardSink is the sink of a dry run, which never calls it.
type discardSink struct{}

func (discardSink) UpsertUser(context.Context, directory.User) error               { return nil }
func (discardSink) DeactivateUser(context.Context, string, directory.Reason) error { return nil }
func (discardSink) UpsertGroup(context.Context, directory.Group) error             { return nil }
func (discardSink) SetMembers(context.Context, string, []string) error             { return nil }
func (discardSink) EndSessions(context.Context, string, string) error              { return nil }

// printSummary prints what the run did, and the error with its fix.
func (a *app) printSummary(o syncOptions, org string, s directory.Summary, err error) {
	if o.json {
		a.printSummaryJSON(o, org, s, err)
		return
	}
	if err == nil || s.Pages > 0 { // a run that read nothing has nothing to sum up
		a.printSummaryText(o, org, s)
	}
	a.printSyncError(s, err)
}

// printSummaryJSON prints the run's outcome as one indented JSON object
// on stdout (--json).
func (a *app) printSummaryJSON(o syncOptions, org string, s directory.Summary, err error) {
	v := struct {
		OK      bool              `json:"ok"`
		Error   string            `json:"error,omitempty"`
		Org     string            `json:"org"`
		Out     string            `json:"out,omitempty"`
		State   string            `json:"state"`
		Summary directory.Summary `json:"summary"`
	}{err == nil, "", org, o.out, o.state, s}
	if err != nil {
		v.Error = errText(err)
	}
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// syncRunKind names the kind of run s was: full or incremental, resumed,
// dry.
func syncRunKind(s directory.Summary) string {
	kind := "incremental run"
	if s.Full {
		kind = "full run"
	}
	if s.Resumed {
		kind += ", resumed"
	}
	if s.DryRun {
		kind += ", dry run: nothing changed"
	}
	return kind
}

// printSummaryText prints the run's counts for people on stdout.
func (a *app) printSummaryText(o syncOptions, org string, s directory.Summary) {
	w := a.stdout
	fmt.Fprintf(w, "Sync from %s (%s) in %s\n", org, syncRunKind(s), s.Duration.Round(100*time.Millisecond))
	fmt.Fprintf(w, "  users:    %d read, %d upserted (%d suspended); %d deprovisioned and %d deleted in Okta: %d deactivated\n",
		s.Users, s.Upserted, s.Suspended, s.Deprovisioned, s.Deleted, s.Deactivated)
	if o.endSessions {
		fmt.Fprintf(w, "  sessions: %d users to sign out everywhere (end_sessions lines for the app to apply)\n", s.SessionsEnded)
	}
	fmt.Fprintf(w, "  groups:   %d read, %d member lists (%d memberships), %d deleted in Okta\n", s.Groups, s.MemberLists, s.Members, s.GroupsDeleted)
	fmt.Fprintf(w, "  requests: %d for %d pages; %d retried, %d rate limited (429), %s waited for rate limits\n",
		s.Requests, s.Pages, s.Retries, s.Throttled, s.RateWait.Round(time.Second))
	if !s.DryRun && o.out != "" {
		fmt.Fprintf(w, "  changes appended to %s; state in %s\n", o.out, o.state)
	}
}

// printSyncError prints the run's error, if any, on stderr with its fix,
// and whether the next run resumes.
func (a *app) printSyncError(s directory.Summary, err error) {
	resume := ""
	if !s.DryRun && s.Pages > 0 {
		resume = " (the next run resumes where this one stopped)"
	}
	switch {
	case errors.Is(err, directory.ErrTooManyDeactivations):
		fmt.Fprintf(a.stderr, "oktasso sync: %s — fix: if Okta really lost them, rerun with --max-deactivate %d; otherwise check the app's scopes and admin role\n", errText(err), s.Blocked)
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(a.stderr, "oktasso sync: interrupted%s\n", resume)
	case err != nil:
		fmt.Fprintf(a.stderr, "oktasso sync: %s%s\n", syncError(err), resume)
	}
}

// progress shows a sync's progress: a line rewritten in place on a
// terminal, else a log line every few seconds.
type progress struct {
	w     io.Writer // the terminal, or nil
	log   *slog.Logger
	now   func() time.Time
	start time.Time
	last  time.Time
	phase string
	shown bool
}

func (a *app) newProgress(o syncOptions, log *slog.Logger) *progress {
	p := &progress{log: log, now: a.now, start: a.now()}
	if f, ok := a.stdout.(*os.File); ok && !o.json && !o.dryRun { // keep stdout for the summary or the plan
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.w = f
		}
	}
	return p
}

func (p *progress) show(pr directory.Progress) {
	now := p.now()
	every := progressEvery
	if p.w != nil {
		every = 200 * time.Millisecond
	}
	if pr.Phase == p.phase && now.Sub(p.last) < every {
		return
	}
	p.phase, p.last = pr.Phase, now
	elapsed := now.Sub(p.start)
	rate := float64(pr.Users+pr.Groups) / max(elapsed.Seconds(), 0.001)
	left := ""
	if done, total := pr.Users+pr.Groups, pr.KnownUsers+pr.KnownGroups; total > done && rate > 0 && pr.Phase != "deprovisioned" {
		left = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
	}
	if p.w == nil {
		attrs := []any{"phase", pr.Phase, "users", pr.Users, "groups", pr.Groups, "memberships", pr.Members,
			"pages", pr.Pages, "per_second", int(rate), "elapsed", elapsed.Round(time.Second).String()}
		if left != "" {
			attrs = append(attrs, "left", left)
		}
		p.log.Info("sync progress", attrs...)
		return
	}
	line := fmt.Sprintf("%-13s users %d · groups %d · memberships %d · %d pages · %.0f/s · %s", pr.Phase, pr.Users, pr.Groups, pr.Members, pr.Pages, rate, elapsed.Round(time.Second))
	if left != "" {
		line += " · ~" + left + " left"
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
	p.shown = true
}

// done clears the progress line.
func (p *progress) done() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// sessionIssuer returns the issuer of the app's sign-ins for
// --end-sessions: --issuer, else the app's variables as
// oktasso.ConfigFromEnv reads them (OKTA_ISSUER, OKTA_OAUTH2_ISSUER, else
// the domain with OKTA_AUTH_SERVER_ID).
func (a *app) sessionIssuer(o syncOptions) (string, error) {
	iss := strings.TrimSpace(o.issuer)
	if iss == "" {
		_, iss = firstSet(a.lookup, envIssuer, envOAuth2Issuer)
	}
	if iss != "" {
		iss = issuer.Normalize(iss)
	} else {
		domain := strings.TrimSpace(o.domain)
		if domain == "" {
			_, domain = firstSet(a.lookup, "OKTA_DOMAIN")
		}
		if domain == "" {
			return "", errors.New("no issuer for the sessions; pass --issuer with the app's issuer, or set " + envIssuer + " as for the app")
		}
		_, server := firstSet(a.lookup, envAuthServerID)
		var err error
		if iss, err = issuer.FromDomain(domain, server, envAuthServerID); err != nil {
			return "", err
		}
	}
	if err := issuer.Check(iss); err != nil {
		return "", err
	}
	return iss, nil
}
