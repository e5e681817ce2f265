package main

import (
	"fmt"
	"io"
	"strings"
)

// result is one line of a report: a check that passed (✓), passed with a
// warning (!, with what to do about it), failed (✗, with the fix) or was
// skipped because an earlier one failed (-).
type result struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Warning bool   `json:"warning,omitempty"`
	Skipped bool   `json:"skipped,omitempty"`
	Detail  string `json:"detail"`
	Fix     string `json:"fix"`
}

func pass(name, format string, args ...any) result {
	return result{Name: name, OK: true, Detail: fmt.Sprintf(format, args...)}
}

// warn is a check that does not fail: the setup works, less well than it
// could.
func warn(name, fix, format string, args ...any) result {
	return result{Name: name, OK: true, Warning: true, Detail: fmt.Sprintf(format, args...), Fix: fix}
}

func fail(name, fix, format string, args ...any) result {
	return result{Name: name, Detail: fmt.Sprintf(format, args...), Fix: fix}
}

func skip(name, why string) result {
	return result{Name: name, Skipped: true, Detail: "skipped: " + why}
}

// failed reports whether r counts as a ✗.
func (r result) failed() bool { return !r.OK && !r.Skipped }

func (r result) String() string {
	mark := "✓"
	switch {
	case r.Skipped:
		mark = "-"
	case !r.OK:
		mark = "✗"
	case r.Warning:
		mark = "!"
	}
	s := mark + " " + r.Name + ": " + r.Detail
	if r.Fix != "" && (!r.OK || r.Warning) {
		s += " — fix: " + r.Fix
	}
	return s
}

func printResults(w io.Writer, rs []result) {
	for _, r := range rs {
		fmt.Fprintln(w, r)
	}
}

func anyFailed(rs []result) bool {
	for _, r := range rs {
		if r.failed() {
			return true
		}
	}
	return false
}

// configResults turns the error of oktasso.ConfigFromLookup into one ✗ line
// per problem. The library's messages already name the variable and end
// with the fix after the last "; ".
func configResults(err error) []result {
	var rs []result
	for _, e := range flatten(err) {
		msg := strings.TrimPrefix(e.Error(), "oktasso: ")
		detail, fix := msg, ""
		if i := strings.LastIndex(msg, "; "); i >= 0 {
			detail, fix = msg[:i], msg[i+2:]
		}
		rs = append(rs, result{Name: "config", Detail: detail, Fix: fix})
	}
	return rs
}

// flatten unwraps errors.Join trees into their leaves.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
